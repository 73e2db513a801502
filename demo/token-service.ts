import { setTimeout as sleep } from 'node:timers/promises';
import fetch from 'node-fetch';
import { clientLogin, readBody, sendJson, serve, type ClientLogin } from './http.js';
import { sameSecret, tokenSigner } from './signed-tokens.js';

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
  /**
   * The clients it knows, with their secrets, by client id: a request must then name one of
   * them and give its secret, or it is answered 401 `invalid_client` (and not counted).
   * @default any client id, without a secret
   */
  clients?: ReadonlyMap<string, string>;
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
 * Starts the token service, like the seed's token generator, with a counter: `POST /token`
 * with a form body `client_id=<name>` (and `client_secret` when it knows its `clients`)
 * answers `{ access_token, token_type, expires_in }` after `latencyMs`.
 *
 * Its tokens are signed with a key made at startup, so the partner API can check them
 * (through {@link AuthServer.verify}) the way a resource server checks a JWT.
 */
export async function startTokenService(options: TokenServiceOptions = {}): Promise<AuthServer> {
  const { ttlMs = 2_000, latencyMs = 50, onCall, clients } = options;
  const signer = tokenSigner();
  const calls = new Map<string, number>();
  let lastExpiresAt = 0;
  const known = (login: ClientLogin): boolean => {
    const secret = clients?.get(login.id);
    return clients === undefined || (secret !== undefined && sameSecret(secret, login.secret));
  };

  const server = await serve(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/token') return sendJson(res, 404, { error: 'not found' });
    const form = new URLSearchParams(await readBody(req));
    const login = clientLogin(req, form);
    if (login === undefined) return sendJson(res, 400, { error: 'invalid_request' });
    if (!known(login)) return sendJson(res, 401, { error: 'invalid_client' });
    const client = login.id;
    calls.set(client, (calls.get(client) ?? 0) + 1);
    onCall?.(client);
    await sleep(latencyMs);
    const exp = Date.now() + ttlMs;
    lastExpiresAt = Math.max(lastExpiresAt, exp);
    sendJson(res, 200, { access_token: signer.issue(client, exp), token_type: 'Bearer', expires_in: ttlMs / 1000 });
  });

  return {
    tokenUrl: `${server.origin}/token`,
    callsBy: (client) => calls.get(client) ?? 0,
    verify: signer.verify,
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
export async function requestToken(tokenUrl: string, client: ClientLogin, signal?: AbortSignal): Promise<IssuedToken> {
  const sentAt = Date.now();
  const secret = client.secret === undefined ? {} : { client_secret: client.secret };
  const res = await fetch(tokenUrl, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, ...secret }),
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
