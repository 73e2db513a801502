import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import fetch from 'node-fetch';
import { readBody, sendJson, serve } from './http.js';

/** How the token service behaves. */
export interface TokenServiceOptions {
  /**
   * How long a token it issues stays valid, in ms.
   * @default 2_000
   */
  ttlMs?: number;
  /**
   * How long it takes to answer a token request, in ms: a real auth server is never free.
   * @default 50
   */
  latencyMs?: number;
  /**
   * Called with the client's name for each token request, where the service counts it.
   * @default none
   */
  onCall?: (client: string) => void;
}

/** What the partner API learns from a token: who it was issued to, and whether it still holds. */
export interface TokenVerdict {
  client: string;
  expired: boolean;
}

/** An auth server of the demo: the token service, or a real OAuth2 server. */
export interface AuthServer {
  /** Where tokens are issued: `POST` a client-credentials form. */
  tokenUrl: string;
  /** How many tokens `client` has asked for so far. */
  callsBy(client: string): number;
  /** Checks a token; `undefined` when this service did not issue it. */
  verify(value: string): TokenVerdict | undefined;
  /** When the last token issued so far expires, epoch ms (0 before the first). */
  lastExpiresAt(): number;
  close(): Promise<void>;
}

/**
 * Starts the token service, like the seed's token generator, with a counter: `POST /token` with a form body `client_id=<name>` answers
 * `{ access_token, token_type, expires_in }` after `latencyMs`.
 *
 * Its tokens are signed with a key made at startup, so the partner API can check them
 * (through {@link AuthServer.verify}) the way a resource server checks a JWT.
 */
export async function startTokenService(options: TokenServiceOptions = {}): Promise<AuthServer> {
  const { ttlMs = 2_000, latencyMs = 50, onCall } = options;
  const key = randomBytes(32);
  const sign = (payload: string): Buffer => createHmac('sha256', key).update(payload).digest();
  const calls = new Map<string, number>();
  let lastExpiresAt = 0;

  const server = await serve(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/token') return sendJson(res, 404, { error: 'not found' });
    const client = new URLSearchParams(await readBody(req)).get('client_id');
    if (!client) return sendJson(res, 400, { error: 'invalid_request' });
    calls.set(client, (calls.get(client) ?? 0) + 1);
    onCall?.(client);
    await sleep(latencyMs);
    const exp = Date.now() + ttlMs;
    lastExpiresAt = Math.max(lastExpiresAt, exp);
    const payload = Buffer.from(JSON.stringify({ sub: client, exp, jti: randomBytes(8).toString('hex') })).toString('base64url');
    const accessToken = `${payload}.${sign(payload).toString('base64url')}`;
    sendJson(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: ttlMs / 1000 });
  });

  return {
    tokenUrl: `${server.origin}/token`,
    callsBy: (client) => calls.get(client) ?? 0,
    verify(value) {
      const [payload = '', signature = ''] = value.split('.');
      const given = Buffer.from(signature, 'base64url');
      const expected = sign(payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      const { sub, exp } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub: string; exp: number };
      return { client: sub, expired: exp <= Date.now() };
    },
    lastExpiresAt: () => lastExpiresAt,
    close: server.close,
  };
}

/** A token as a client of the token service holds it. */
export interface IssuedToken {
  value: string;
  /** Epoch ms. */
  expiresAt: number;
}

/**
 * Asks an auth server for a token, as a hand-written client does: what the naive service
 * calls, and the reactive service's `TokenSource` when it is not on OAuth2.
 *
 * @throws {Error} when the service does not answer 200; `retryable` is false for a 4xx,
 * which `TokenStream` then does not retry.
 */
export async function requestToken(tokenUrl: string, client: string, signal?: AbortSignal): Promise<IssuedToken> {
  const sentAt = Date.now();
  const res = await fetch(tokenUrl, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client }),
    ...(signal === undefined ? {} : { signal }),
  });
  if (!res.ok) {
    throw Object.assign(new Error(`The auth server answered ${res.status}`), { retryable: res.status >= 500 });
  }
  const body = (await res.json()) as { access_token: string; expires_in: number };
  // The lifetime counts from when the request left, not when the answer came back, so
  // the client never believes a token lives longer than the server does.
  return { value: body.access_token, expiresAt: sentAt + body.expires_in * 1000 };
}
