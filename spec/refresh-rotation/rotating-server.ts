// A small token server that rotates refresh tokens and revokes the family on reuse, as
// Auth0, Okta or Keycloak do, for the specs that must control timing and kill points:
// it can hold a request before it rotates, or hold the answer after it rotated.
import type { ServerResponse } from 'node:http';
import { listen, type LoopbackServer } from '../support/loopback.js';

export const ROTATING_CLIENT_ID = 'fleet-client';
export const ROTATING_CLIENT_SECRET = 'fleet-secret-must-not-leak-83c1';

/** What the server received and did. */
export interface RotationCounts {
  /** Token requests received. */
  requests: number;
  /** Refresh tokens exchanged for new ones (reuses within the grace included). */
  rotations: number;
  /** Consumed refresh tokens presented again after the grace: each revoked its family. */
  reuses: number;
  /** Consumed refresh tokens presented again within the grace, and honoured. */
  graceReuses: number;
  /** Families revoked. */
  revocations: number;
}

/** A request the server is holding, at one of its two hold points. */
export interface HeldRequest {
  /** The `x-process` header of the caller (its PID in forked children). */
  process: string | undefined;
  /** Lets the request go on. */
  release(): void;
}

/** See {@link startRotatingServer}. */
export interface RotatingServer {
  tokenUrl: string;
  readonly counts: RotationCounts;
  /** A new family's first refresh token. */
  mint(): string;
  /** Whether the family of `refreshToken` was revoked. */
  revoked(refreshToken: string): boolean;
  /**
   * Called with each request before (`'before'`) it is looked at, or after (`'rotated'`) the
   * server rotated and before it answers; the request waits until `release()`.
   */
  hold: ((point: 'before' | 'rotated', request: HeldRequest) => void) | undefined;
  /** How long a consumed refresh token is still honoured. */
  graceMs: number;
  /** The access tokens' lifetime, in seconds. */
  expiresIn: number;
  close(): Promise<void>;
}

interface Issued {
  family: number;
  consumedAt: number | undefined;
}

/** Starts the server on 127.0.0.1; refresh tokens are used once, unless within `graceMs`. */
export async function startRotatingServer(options: { graceMs?: number; expiresIn?: number } = {}): Promise<RotatingServer> {
  const tokens = new Map<string, Issued>();
  const revokedFamilies = new Set<number>();
  const counts: RotationCounts = { requests: 0, rotations: 0, reuses: 0, graceReuses: 0, revocations: 0 };
  let families = 0;
  let serial = 0;
  const issue = (family: number): string => {
    serial += 1;
    const token = `rt-f${family}-${serial}-must-not-leak`;
    tokens.set(token, { family, consumedAt: undefined });
    return token;
  };
  // RFC 6749 2.3.1: the id and the secret are form-encoded before Basic.
  const formDecode = (text: string): string => decodeURIComponent(text.replace(/\+/g, ' '));
  const authenticated = (header: string | undefined): boolean => {
    const [id = '', secret = ''] = Buffer.from(header?.replace(/^Basic /, '') ?? '', 'base64').toString().split(':').map(formDecode);
    return id === ROTATING_CLIENT_ID && secret === ROTATING_CLIENT_SECRET;
  };
  const refuse = (res: ServerResponse, status: number, error: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error }));
  };
  const api: RotatingServer = {
    tokenUrl: '',
    counts,
    hold: undefined,
    graceMs: options.graceMs ?? 0,
    expiresIn: options.expiresIn ?? 60,
    mint: () => issue((families += 1)),
    revoked: (refreshToken) => revokedFamilies.has(tokens.get(refreshToken)?.family ?? -1),
    close: async () => server.close(),
  };
  const pause = (point: 'before' | 'rotated', process: string | undefined): Promise<void> =>
    new Promise((release) => {
      if (api.hold === undefined) release();
      else api.hold(point, { process, release: () => release() });
    });

  const server: LoopbackServer = await listen((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', async () => {
      counts.requests += 1;
      const header = req.headers['x-process'];
      const process = typeof header === 'string' ? header : undefined;
      await pause('before', process);
      if (!authenticated(req.headers.authorization)) return refuse(res, 401, 'invalid_client');
      const presented = new URLSearchParams(text).get('refresh_token') ?? '';
      const issued = tokens.get(presented);
      if (issued === undefined || revokedFamilies.has(issued.family)) return refuse(res, 400, 'invalid_grant');
      const now = Date.now();
      if (issued.consumedAt !== undefined) {
        if (now - issued.consumedAt > api.graceMs) {
          counts.reuses += 1;
          counts.revocations += 1;
          revokedFamilies.add(issued.family);
          return refuse(res, 400, 'invalid_grant');
        }
        counts.graceReuses += 1;
      } else {
        issued.consumedAt = now;
      }
      counts.rotations += 1;
      const refreshToken = issue(issued.family);
      const body = { access_token: `at-f${issued.family}-${serial}-must-not-leak`, token_type: 'Bearer', expires_in: api.expiresIn, refresh_token: refreshToken };
      await pause('rotated', process);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  api.tokenUrl = `${server.origin}/oauth/token`;
  return api;
}
