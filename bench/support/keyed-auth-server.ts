/**
 * The auth server of the fleet-scale scenario, on 127.0.0.1 in the bench's parent process:
 * it counts calls per key, and names the key of each answer in `x-key` so that a worker can
 * time the reply of its own calls.
 *
 * - Client-credentials style: a POST with an `x-key` header gets a fresh token for that key.
 * - `refresh_token` grant (RFC 6749 6), for the PostgreSQL store: the refresh token names its
 *   key (`rt.<key>.<n>`); only the newest one of a key is honoured, and each answer rotates it.
 *   Presenting an older one is a reuse, counted and refused with `invalid_grant`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** See {@link startKeyedAuthServer}. */
export interface KeyedAuthServer {
  url: string;
  /** Auth calls since the last reset, and the most made for one key. */
  stats(): { calls: number; maxPerKey: number; reuses: number };
  reset(): void;
  /** The first refresh token of `key`, to seed a credential store with. */
  firstRefreshToken(key: string): string;
  close(): Promise<void>;
}

const TOKEN_LIFETIME_S = 3_600;

/** Starts the server; `delayMs` is how long each answer takes, as a real auth server would. */
export async function startKeyedAuthServer(delayMs: number): Promise<KeyedAuthServer> {
  let calls = 0;
  let reuses = 0;
  let issued = 0;
  let perKey = new Map<string, number>();
  // The newest refresh token of each key: the only one the server honours.
  const current = new Map<string, string>();
  const json = (res: ServerResponse, status: number, body: unknown, key?: string): void => {
    const text = JSON.stringify(body);
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
    if (key !== undefined) headers['x-key'] = key;
    setTimeout(() => res.writeHead(status, headers).end(text), delayMs);
  };
  const count = (key: string): void => {
    calls += 1;
    perKey.set(key, (perKey.get(key) ?? 0) + 1);
  };
  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const header = req.headers['x-key'];
    if (typeof header === 'string') {
      count(header);
      issued += 1;
      json(res, 200, { value: `at.${header}.${issued}`, expiresAt: Date.now() + TOKEN_LIFETIME_S * 1_000 }, header);
      return;
    }
    const form = new URLSearchParams(body);
    const presented = form.get('refresh_token') ?? '';
    const key = presented.split('.').slice(1, -1).join('.');
    if (form.get('grant_type') !== 'refresh_token' || key === '') {
      json(res, 400, { error: 'invalid_request' });
      return;
    }
    count(key);
    if (current.get(key) !== presented) {
      reuses += 1;
      json(res, 400, { error: 'invalid_grant' }, key);
      return;
    }
    issued += 1;
    const next = `rt.${key}.${issued}`;
    current.set(key, next);
    json(res, 200, { access_token: `at.${key}.${issued}`, token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S, refresh_token: next }, key);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString()));
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/token`,
    stats: () => ({ calls, reuses, maxPerKey: Math.max(0, ...perKey.values()) }),
    reset: () => {
      calls = 0;
      reuses = 0;
      perKey = new Map();
    },
    firstRefreshToken: (key) => {
      issued += 1;
      const token = `rt.${key}.${issued}`;
      current.set(key, token);
      return token;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
