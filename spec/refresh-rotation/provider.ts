// A real authorization server for the rotation specs: oidc-provider, with refresh token
// rotation on, on 127.0.0.1. A consumed refresh token presented again revokes its grant
// (RFC 9700 4.14.2). The specs count what it received; families are minted through its own
// models and adapter, never faked.
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { listenOnLoopback } from '../support/loopback.js';

export const CLIENT_ID = 'rotation-client';
// Distinctive, so that a spec finds it wherever it leaks.
export const CLIENT_SECRET = 'rotation-secret-must-not-leak-4b2e';
export const PUBLIC_CLIENT_ID = 'rotation-public-client';

/** What the provider received and did, counted since it started (or the last `reset()`). */
export interface ProviderCounts {
  /** POST /token requests, answered or not. */
  grantRequests: number;
  /** refresh_token grants that issued new tokens. */
  rotations: number;
  /** Consumed refresh tokens presented again. */
  reuses: number;
  /** Grants revoked (by reuse detection). */
  revocations: number;
  /** Other refused grants (`error`, `error_detail`). */
  refusals: string[];
}

/** See {@link startProvider}. */
export interface RotatingProvider {
  tokenUrl: string;
  issuer: string;
  readonly counts: ProviderCounts;
  /** Starts a new family: a grant and its first refresh token, saved by the provider. */
  mint(options?: { accountId?: string; clientId?: string }): Promise<{ refreshToken: string; grantId: string }>;
  /** Whether the grant still exists (a revoked one does not). */
  grantExists(grantId: string): Promise<boolean>;
  /** Revokes a grant, as an admin or a user's "sign out everywhere" would. */
  revoke(grantId: string): Promise<void>;
  /** Runs before each token request reaches the provider; the request waits for it. */
  beforeGrant: (() => Promise<void> | void) | undefined;
  reset(): void;
  close(): Promise<void>;
}

/** Loads oidc-provider with its console notices silenced (it warns about Node 20 and dev defaults). */
async function quietly<T>(run: () => Promise<T> | T): Promise<T> {
  const { warn, info } = console;
  console.warn = () => {};
  console.info = () => {};
  try {
    return await run();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

/** Starts oidc-provider 9 with `rotateRefreshToken: true` on a free 127.0.0.1 port. */
export async function startProvider(): Promise<RotatingProvider> {
  const { default: Provider } = await quietly(() => import('oidc-provider'));
  const server: Server = createServer();
  const issuer = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const redirect = { redirect_uris: ['http://127.0.0.1/callback'], response_types: ['code'], id_token_signed_response_alg: 'ES256' };
  const provider = await quietly(
    () =>
      new Provider(issuer, {
        clients: [
          { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_types: ['authorization_code', 'refresh_token'], ...redirect },
          { client_id: PUBLIC_CLIENT_ID, token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], ...redirect },
        ],
        rotateRefreshToken: true,
        features: { devInteractions: { enabled: false } },
        jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'rotation-key' }] },
        cookies: { keys: ['rotation-cookie-key-0123456789abcdef'] },
        findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
        ttl: { AccessToken: 60, IdToken: 60, RefreshToken: 86_400, Grant: 86_400, Session: 86_400 },
      }),
  );
  const counts: ProviderCounts = { grantRequests: 0, rotations: 0, reuses: 0, revocations: 0, refusals: [] };
  const api: RotatingProvider = {
    tokenUrl: `${issuer}/token`,
    issuer,
    counts,
    beforeGrant: undefined,
    async mint({ accountId = 'user-42', clientId = CLIENT_ID } = {}) {
      const grant = new provider.Grant({ accountId, clientId });
      grant.addOIDCScope('openid offline_access');
      const grantId = await grant.save();
      const client = await provider.Client.find(clientId);
      const token = new provider.RefreshToken({ accountId, client, grantId, scope: 'openid offline_access', gty: 'authorization_code' });
      return { refreshToken: await token.save(), grantId };
    },
    grantExists: async (grantId) => (await provider.Grant.find(grantId)) !== undefined,
    async revoke(grantId) {
      await provider.Grant.adapter.destroy(grantId);
    },
    reset() {
      Object.assign(counts, { grantRequests: 0, rotations: 0, reuses: 0, revocations: 0, refusals: [] });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token') {
      counts.grantRequests += 1;
      await api.beforeGrant?.();
    }
    await next();
  });
  provider.on('grant.success', () => (counts.rotations += 1));
  provider.on('grant.revoked', () => (counts.revocations += 1));
  provider.on('grant.error', (_ctx, error: { error?: string; error_detail?: string }) => {
    if (error.error_detail === 'refresh token already used') counts.reuses += 1;
    else counts.refusals.push(`${error.error ?? '?'}: ${error.error_detail ?? ''}`);
  });
  server.on('request', provider.callback());
  return api;
}
