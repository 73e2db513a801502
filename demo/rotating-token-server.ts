import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import fetch from 'node-fetch';
import { clientLogin, readBody, sendJson, serve, type ClientLogin } from './http.js';
import { sameSecret, tokenSigner } from './signed-tokens.js';
import type { TokenVerdict } from './token-service.js';

/** How the rotating token server behaves. */
export interface RotatingTokenServerOptions {
  /**
   * How long an access token it issues stays valid, in ms.
   * @default 2_000
   */
  ttlMs?: number;
  /**
   * How long it takes to answer a grant request, in ms.
   * @default 50
   */
  latencyMs?: number;
  /** The clients it knows, with their secrets, by client id; any other is answered 401 `invalid_client`. */
  clients: ReadonlyMap<string, string>;
}

/** What the server counted for one client. */
export interface GrantCounts {
  /** refresh_token grant requests it received. */
  grantRequests: number;
  /** Refresh tokens it exchanged for new ones. */
  rotations: number;
  /** Refresh tokens presented again after their one use: each is taken as theft. */
  reusedRefreshTokens: number;
  /** Families it revoked for a reuse: every refresh token of the family is refused from then on. */
  revokedFamilies: number;
}

/** The token server, running. */
export interface RotatingTokenServer {
  /** Where grants are asked: `POST` a refresh_token form. */
  tokenUrl: string;
  /** Starts a new family for `client`, as the user's consent does: its first refresh token. */
  mint(client: string): string;
  /** What it counted for `client` so far. */
  counts(client: string): GrantCounts;
  /** Checks an access token; `undefined` when this server did not issue it. */
  verify(value: string): TokenVerdict | undefined;
  /** When the last access token issued so far expires, epoch ms (0 before the first). */
  lastExpiresAt(): number;
  close(): Promise<void>;
}

interface Issued {
  client: string;
  family: number;
  used: boolean;
}

/**
 * Starts a token server that rotates refresh tokens, as Auth0, Okta or Keycloak do with
 * rotation on: `POST /token` with `grant_type=refresh_token` answers a new access token
 * and a new refresh token, and the one presented is used up. A used refresh token
 * presented again is taken as theft: the whole family is revoked, and every later grant
 * of it fails with `invalid_grant`, until a new consent (`mint`) starts a new family.
 *
 * Access tokens are signed as the token service's are, so the partner API checks them
 * the same way. A revoked family's access tokens stay valid until they expire, as JWTs do.
 */
export async function startRotatingTokenServer(options: RotatingTokenServerOptions): Promise<RotatingTokenServer> {
  const { ttlMs = 2_000, latencyMs = 50, clients } = options;
  const signer = tokenSigner();
  const issued = new Map<string, Issued>();
  const revoked = new Set<number>();
  const counted = new Map<string, GrantCounts>();
  let families = 0;
  let lastExpiresAt = 0;

  const countsOf = (client: string): GrantCounts => {
    let counts = counted.get(client);
    if (counts === undefined) counted.set(client, (counts = { grantRequests: 0, rotations: 0, reusedRefreshTokens: 0, revokedFamilies: 0 }));
    return counts;
  };
  const issue = (client: string, family: number): string => {
    const refreshToken = randomBytes(24).toString('base64url');
    issued.set(refreshToken, { client, family, used: false });
    return refreshToken;
  };
  const known = (login: ClientLogin): boolean => {
    const secret = clients.get(login.id);
    return secret !== undefined && sameSecret(secret, login.secret);
  };

  const server = await serve(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/token') return sendJson(res, 404, { error: 'not found' });
    const form = new URLSearchParams(await readBody(req));
    const login = clientLogin(req, form);
    if (login === undefined || !known(login)) return sendJson(res, 401, { error: 'invalid_client' });
    if (form.get('grant_type') !== 'refresh_token') return sendJson(res, 400, { error: 'unsupported_grant_type' });
    const counts = countsOf(login.id);
    counts.grantRequests += 1;
    await sleep(latencyMs);

    // From here on, no await: a refresh token is used up by the first request that gets here.
    const presented = issued.get(form.get('refresh_token') ?? '');
    if (presented === undefined || presented.client !== login.id) return sendJson(res, 400, { error: 'invalid_grant' });
    if (presented.used) {
      counts.reusedRefreshTokens += 1;
      if (!revoked.has(presented.family)) {
        revoked.add(presented.family);
        counts.revokedFamilies += 1;
      }
      return sendJson(res, 400, { error: 'invalid_grant' });
    }
    if (revoked.has(presented.family)) return sendJson(res, 400, { error: 'invalid_grant' });
    presented.used = true;
    counts.rotations += 1;
    const exp = Date.now() + ttlMs;
    lastExpiresAt = Math.max(lastExpiresAt, exp);
    sendJson(res, 200, {
      access_token: signer.issue(login.id, exp),
      token_type: 'Bearer',
      expires_in: ttlMs / 1000,
      refresh_token: issue(login.id, presented.family),
    });
  });

  return {
    tokenUrl: `${server.origin}/token`,
    mint: (client) => issue(client, (families += 1)),
    counts: (client) => ({ ...countsOf(client) }),
    verify: signer.verify,
    lastExpiresAt: () => lastExpiresAt,
    close: server.close,
  };
}

/** The tokens a refresh grant returns. */
export interface RefreshedTokens {
  accessToken: string;
  refreshToken: string;
}

/**
 * Presents a refresh token, as a hand-written client does: what the naive service calls.
 *
 * @throws {Error} when the server does not answer 200 (`invalid_grant` once the family is
 * revoked). The message names the status and the OAuth error, never a token or secret.
 */
export async function presentRefreshToken(tokenUrl: string, client: ClientLogin, refreshToken: string): Promise<RefreshedTokens> {
  const secret = client.secret === undefined ? {} : { client_secret: client.secret };
  const res = await fetch(tokenUrl, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.id, ...secret }),
  });
  const body = (await res.json()) as { access_token?: string; refresh_token?: string; error?: string };
  if (!res.ok || body.access_token === undefined || body.refresh_token === undefined) {
    throw new Error(`The token server answered ${res.status}${typeof body.error === 'string' ? ` ${body.error}` : ''}`);
  }
  return { accessToken: body.access_token, refreshToken: body.refresh_token };
}
