import type { TokenEndpointResponse } from 'oauth4webapi';
import { tokenProblem, type Token } from '../token.js';
import { unusable } from './failure.js';

/**
 * The longest `expires_in` taken at its word: one year, in seconds. A longer one is a
 * server bug (milliseconds sent as seconds, an epoch sent as a lifetime), not a token.
 */
export const MAX_EXPIRES_IN_SECONDS = 365 * 24 * 60 * 60;

/**
 * Turns a checked RFC 6749 5.1 response into a {@link Token}.
 *
 * @param body What oauth4webapi returned: `access_token` and `token_type` are non-empty
 * strings, `expires_in` a number >= 0 if present.
 * @param sentAt When the request went out: the lifetime runs from there, because the
 * server started counting before its reply crossed the network.
 * @param defaultExpiresInMs The lifetime of a token sent without `expires_in`; `Infinity`
 * for a token valid until rejected.
 * @throws {OAuthError} `invalid-token-response` for a `token_type` other than Bearer, an
 * `expires_in` under a millisecond or over {@link MAX_EXPIRES_IN_SECONDS}, or an
 * `access_token` that is no token (`tokenProblem`: one an HTTP header cannot carry).
 */
export function toToken(body: TokenEndpointResponse, sentAt: number, defaultExpiresInMs: number): Token {
  // oauth4webapi lower-cases token_type; the scheme is case-insensitive (RFC 9110 11.1).
  if (body.token_type !== 'bearer') {
    throw unusable(200, '`token_type` must be Bearer (this source makes no DPoP proofs)');
  }
  const expiresIn = body.expires_in;
  // Under a millisecond the lifetime rounds to 0: a token expired on arrival.
  if (expiresIn !== undefined && !(expiresIn >= 0.001 && expiresIn <= MAX_EXPIRES_IN_SECONDS)) {
    throw unusable(200, `\`expires_in\` must be at least 0.001 and at most ${MAX_EXPIRES_IN_SECONDS} seconds`);
  }
  const lifetimeMs = expiresIn === undefined ? defaultExpiresInMs : Math.floor(expiresIn * 1000);
  const token: Token = {
    value: body.access_token,
    type: 'Bearer',
    ...(lifetimeMs === Infinity ? {} : { expiresAt: sentAt + lifetimeMs }),
  };
  // Refused here, as a final failure of this response, rather than by the stream later.
  const problem = tokenProblem(token);
  if (problem !== undefined) throw unusable(200, `\`access_token\`: ${problem}`);
  return token;
}
