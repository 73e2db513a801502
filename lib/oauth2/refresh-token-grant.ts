import { createHash } from 'node:crypto';
import type { CredentialStore } from '../credential-store.js';
import { MAX_TIMER_MS, checkOptionsObject, isKey, isNonNegative, isTimerDelay, optionChecker } from '../options.js';
import type { Token, TokenSource, TokenSourceContext } from '../token.js';
import { presentRefreshToken } from './refresh-request.js';
import { noKeyError } from './rotation-failures.js';
import { Rotation } from './rotation.js';
import { TokenEndpoint, type TokenEndpointOptions } from './token-endpoint.js';

/** How {@link refreshTokenGrant} reaches the token endpoint, and where it keeps the refresh tokens. */
export interface RefreshTokenGrantOptions extends TokenEndpointOptions {
  /**
   * The client secret of a confidential client. It never appears in an error, a message or
   * an event.
   * @default undefined (a public client)
   */
  clientSecret?: string;
  /**
   * How the client authenticates (RFC 6749 2.3.1): HTTP Basic, `client_id` and
   * `client_secret` in the form body, or `client_id` alone for a public client.
   * @default 'basic' with a clientSecret, 'none' without
   */
  clientAuth?: 'basic' | 'post' | 'none';
  /**
   * Where the refresh tokens live, by credential key: `memoryCredentialStore()` for one
   * process, `redisCredentialStore()` for a fleet, or your own {@link CredentialStore}.
   */
  store: CredentialStore;
  /**
   * The credential to use in a lone `TokenStream`. In a `TokenStreams`, the stream's key
   * (`context.key`) is used instead.
   * @default undefined (the TokenStreams key)
   */
  credentialKey?: string;
  /**
   * The IdP's reuse interval: how long it still accepts a refresh token after its first use
   * (Auth0 "rotation overlap", Okta grace period, Cognito `RetryGracePeriodSeconds`). With
   * 0, a holder that dies after the IdP rotated but before the save loses the family. With
   * an interval longer than `leaseMs`, the next holder presents the token within it, and
   * the family survives. It also sets the default `leaseMs`, which must be shorter.
   * @default 0
   */
  reuseGraceMs?: number;
  /**
   * How long a holder's lease on a credential lasts. The refresh token is presented only
   * within its first 80% (the request is abandoned then), the rest is left for the save. A
   * holder that dies is replaced when its lease runs out.
   * @default with reuseGraceMs 0, 1.25 times what is left of the stream's attempt
   * (`context.deadline`), so that the request may run as long as the stream waits (15_000
   * for a call without a deadline); with a reuseGraceMs, 15_000 or half of it when shorter
   */
  leaseMs?: number;
  /**
   * How often a process waiting for another's rotation reads the store again, whatever the
   * store's own change notices say (they may be lost).
   * @default 250
   */
  pollMs?: number;
}

const check = optionChecker('refreshTokenGrant');
const STORE_METHODS = ['get', 'put', 'lease', 'release', 'save', 'fail'] as const;

/**
 * A {@link TokenSource} that gets access tokens with the refresh_token grant (RFC 6749 6)
 * from rotating refresh tokens kept in `store`, presenting each refresh token once across
 * every process that shares the store.
 *
 * A call first reads the credential: an access token another process's rotation saved is
 * handed out without a request. Otherwise one caller takes the store's lease, reads again,
 * presents the refresh token, and saves the rotated credential (only on the version it
 * read) before it hands out the new access token; the others wait for that save. An
 * `invalid_grant` is read again against the store: a newer refresh token is used at once;
 * the same one marks the credential `reauth-required` for the whole fleet (one
 * `reauth-required` event), and every call then fails with an {@link OAuthError} of that
 * kind, without a request, until `store.put` brings a new refresh token. A save that lost
 * to a newer credential is reported as a `credential-save-lost` event.
 *
 * @throws {TypeError} at once, naming the bad option (never its value).
 * @example
 * ```ts
 * const store = memoryCredentialStore()
 * await store.put('user-42', { refreshToken })
 * const streams = new TokenStreams({ source: refreshTokenGrant({ tokenUrl, clientId, clientSecret, store }) })
 * const token = await streams.getToken('user-42')
 * ```
 */
export function refreshTokenGrant(options: RefreshTokenGrantOptions): (context: TokenSourceContext) => Promise<Token> {
  checkOptionsObject(check, options, 'tokenUrl, clientId, store');
  const { clientSecret, clientAuth, store, credentialKey, reuseGraceMs = 0, pollMs = 250 } = options;
  const endpoint = new TokenEndpoint(check, options, { clientSecret, clientAuth, secretRequired: false });
  check(
    typeof store === 'object' && store !== null && STORE_METHODS.every((method) => typeof store[method] === 'function'),
    'store',
    `a CredentialStore (with ${STORE_METHODS.join(', ')})`,
  );
  check(store.changed === undefined || typeof store.changed === 'function', 'store', 'a CredentialStore whose `changed` is a function');
  check(credentialKey === undefined || isKey(credentialKey), 'credentialKey', 'a non-empty string without NUL or lone surrogates');
  check(isNonNegative(reuseGraceMs) && Number.isFinite(reuseGraceMs), 'reuseGraceMs', 'a finite number >= 0');
  // Without a grace, the lease follows each call's deadline (see the option's default).
  const { leaseMs = reuseGraceMs > 0 ? Math.min(15_000, reuseGraceMs / 2) : undefined } = options;
  check(leaseMs === undefined || (isTimerDelay(leaseMs) && leaseMs >= 1), 'leaseMs', `a number from 1 to ${MAX_TIMER_MS}`);
  check(
    reuseGraceMs === 0 || leaseMs === undefined || leaseMs < reuseGraceMs,
    'leaseMs',
    'shorter than reuseGraceMs, or a holder that dies after the IdP rotated is replaced too late to reuse its refresh token',
  );
  check(isTimerDelay(pollMs) && pollMs >= 1, 'pollMs', `a number from 1 to ${MAX_TIMER_MS}`);

  const setup = {
    store,
    scheduler: endpoint.scheduler,
    leaseMs: leaseMs === undefined ? undefined : Math.ceil(leaseMs),
    pollMs,
    client: fingerprint(endpoint.as.token_endpoint ?? '', endpoint.client.client_id, clientSecret, endpoint.clientAuth, endpoint.scope),
    secrets: endpoint.secrets,
    present: (refreshToken: string, signal: AbortSignal) => presentRefreshToken(endpoint, refreshToken, signal),
  };
  return async (context) => {
    const key = context.key ?? credentialKey;
    // A key no store can keep apart from another (a lone surrogate) would share a credential.
    if (!isKey(key)) throw noKeyError();
    return new Rotation(setup, key, context).run();
  };
}

/**
 * Tells client settings apart in a `refused` failure, which other processes read: a hash,
 * so that the store never holds the secret, cut short, as it only needs to differ.
 */
function fingerprint(...settings: (string | undefined)[]): string {
  return createHash('sha256').update(JSON.stringify(settings)).digest('base64url').slice(0, 22);
}
