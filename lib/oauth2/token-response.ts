import type { TokenEndpointResponse } from 'oauth4webapi';
import { tokenProblem, type Token } from '../token.js';
import { unusable } from './failure.js';
import { parseHttpDate } from './retry-after.js';

/**
 * The longest `expires_in` taken at its word: one year, in seconds. A longer one is a
 * server bug (milliseconds sent as seconds, an epoch sent as a lifetime), not a token.
 */
export const MAX_EXPIRES_IN_SECONDS = 365 * 24 * 60 * 60;

/** When a token response was asked for, and the server's clock as its answer showed it. */
export interface ResponseTiming {
  /**
   * When the request went out: the lifetime runs from there, because the server started
   * counting before its reply crossed the network.
   */
  sentAt: number;
  /** The response's `Date` header, or null. */
  date: string | null;
}

/**
 * Turns a checked RFC 6749 5.1 response into a {@link Token}. Its lifetime is `expires_in`;
 * without it, the `exp` of an access token that is a JWT, read on the server's clock (see
 * {@link jwtLifetimeMs}); without either, `defaultExpiresInMs`.
 *
 * @param body What oauth4webapi returned: `access_token` and `token_type` are non-empty
 * strings, `expires_in` a number >= 0 if present.
 * @param defaultExpiresInMs The lifetime of a token sent with neither; `Infinity` for a token
 * valid until rejected.
 * @throws {OAuthError} `invalid-token-response` for a `token_type` other than Bearer, a
 * lifetime under a millisecond or over {@link MAX_EXPIRES_IN_SECONDS} (by `expires_in` or by
 * `exp`), or an `access_token` that is no token (`tokenProblem`: one an HTTP header cannot carry).
 */
export function toToken(body: TokenEndpointResponse, timing: ResponseTiming, defaultExpiresInMs: number): Token {
  // oauth4webapi lower-cases token_type; the scheme is case-insensitive (RFC 9110 11.1).
  if (body.token_type !== 'bearer') {
    throw unusable(200, '`token_type` must be Bearer (this source makes no DPoP proofs)');
  }
  const expiresIn = body.expires_in;
  // Under a millisecond the lifetime rounds to 0: a token expired on arrival.
  if (expiresIn !== undefined && !(expiresIn >= 0.001 && expiresIn <= MAX_EXPIRES_IN_SECONDS)) {
    throw unusable(200, `\`expires_in\` must be at least 0.001 and at most ${MAX_EXPIRES_IN_SECONDS} seconds`);
  }
  const fromJwt = expiresIn === undefined ? jwtLifetimeMs(body.access_token, timing) : undefined;
  if (fromJwt !== undefined && !(fromJwt >= 1 && fromJwt <= MAX_EXPIRES_IN_SECONDS * 1000)) {
    throw unusable(200, `the access token's \`exp\` must be 1 ms to ${MAX_EXPIRES_IN_SECONDS} seconds after the response's Date`);
  }
  const lifetimeMs = expiresIn !== undefined ? Math.floor(expiresIn * 1000) : (fromJwt ?? defaultExpiresInMs);
  // Entra's refresh_in: when the server wants the token refreshed, if before its expiry.
  const refreshIn = body['refresh_in'];
  const refreshInMs = typeof refreshIn === 'number' && refreshIn > 0 ? Math.floor(refreshIn * 1000) : undefined;
  const token: Token = {
    value: body.access_token,
    type: 'Bearer',
    ...(lifetimeMs === Infinity ? {} : { expiresAt: timing.sentAt + lifetimeMs }),
    ...(refreshInMs !== undefined && refreshInMs < lifetimeMs ? { refreshAt: timing.sentAt + refreshInMs } : {}),
  };
  // Refused here, as a final failure of this response, rather than by the stream later.
  const problem = tokenProblem(token);
  if (problem !== undefined) throw unusable(200, `\`access_token\`: ${problem}`);
  return token;
}

/**
 * What is left of the life of an access token that is a JWS JWT, by its `exp` claim, or
 * undefined when it is none (an opaque token, an encrypted JWE, no numeric `exp`).
 *
 * The claim is read, not verified: it only times the refresh, and the API that takes the
 * token checks it. `exp` is on the server's clock, so it is measured from the response's
 * `Date` (RFC 9110 6.6.1: when the server made it) rather than from this host's clock: a
 * skew between the two would otherwise shorten or stretch the lifetime by as much. Without
 * a usable `Date`, the two clocks are taken to agree. `Date` has whole seconds, which the
 * refresh window absorbs.
 */
export function jwtLifetimeMs(accessToken: string, { sentAt, date }: ResponseTiming): number | undefined {
  const [, payload, signature, ...rest] = accessToken.split('.');
  if (payload === undefined || signature === undefined || rest.length > 0) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const exp = typeof claims === 'object' && claims !== null ? (claims as { exp?: unknown }).exp : undefined;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return undefined;
  return exp * 1000 - (parseHttpDate(date) ?? sentAt);
}
