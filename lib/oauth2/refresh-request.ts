/**
 * One refresh_token grant request (RFC 6749 6) and what its answer comes to, with the
 * rotated refresh token taken out first: once the IdP rotated, its answer holds the only
 * copy of the family's next refresh token, so nothing that fails later may lose it.
 */
import * as oauth from 'oauth4webapi';
import { refreshTokenProblem } from '../credential-store.js';
import type { Token } from '../token.js';
import { unusable } from './failure.js';
import type { OAuthError } from './oauth-error.js';
import { redactor } from './redact.js';
import type { TokenEndpoint } from './token-endpoint.js';

/**
 * What one presentation of a refresh token came to. `refreshToken` is the rotated one the
 * IdP sent, when it sent a usable one, even beside an `error` (an access token refused).
 */
export type RefreshAnswer =
  | { ok: true; token: Token; refreshToken: string | undefined }
  | { ok: false; error: OAuthError; refreshToken: string | undefined };

/**
 * Presents `refreshToken` once at `endpoint`, cancelled by `signal`. Never throws: every
 * failure is an {@link OAuthError} in the answer, holding none of the secrets involved.
 */
export async function presentRefreshToken(endpoint: TokenEndpoint, refreshToken: string, signal: AbortSignal): Promise<RefreshAnswer> {
  const { as, client, authenticate, scope } = endpoint;
  const redact = redactor([...endpoint.secrets, refreshToken]);
  const parameters = scope === undefined ? undefined : { scope };
  let sent: { response: Response; sentAt: number };
  try {
    sent = await endpoint.send(
      (request) =>
        oauth.refreshTokenGrantRequest(as, client, authenticate, refreshToken, {
          ...request,
          ...(parameters === undefined ? {} : { additionalParameters: parameters }),
        }),
      signal,
      redact,
    );
  } catch (error) {
    return { ok: false, error: error as OAuthError, refreshToken: undefined };
  }
  const { response, rotated } = await takeRotated(sent.response);
  let body: oauth.TokenEndpointResponse;
  try {
    body = await oauth.processRefreshTokenResponse(as, client, response);
  } catch (failure) {
    return { ok: false, error: endpoint.failure(failure, response, redact), refreshToken: rotated.token };
  }
  if (rotated.problem !== undefined) {
    return { ok: false, error: unusable(200, `\`refresh_token\` must be ${rotated.problem}`), refreshToken: undefined };
  }
  try {
    return { ok: true, token: endpoint.token(body, response, sent.sentAt), refreshToken: rotated.token };
  } catch (error) {
    return { ok: false, error: error as OAuthError, refreshToken: rotated.token };
  }
}

/**
 * The rotated refresh token of a 200's JSON body, read before oauth4webapi checks the rest,
 * and the response for it to check, without `id_token`: this source uses no ID token, and
 * oauth4webapi would check its issuer against the token URL's origin, which is not the
 * issuer at many IdPs, failing a rotation the IdP has already made.
 */
async function takeRotated(response: Response): Promise<{ response: Response; rotated: { token?: string; problem?: string } }> {
  if (response.status !== 200) return { response, rotated: {} };
  const { status, headers } = response;
  const bytes = new Uint8Array(await response.arrayBuffer());
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    // oauth4webapi names what is wrong with it; a parse error's message would quote it.
    return { response: new Response(bytes, { status, headers }), rotated: {} };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { response: new Response(bytes, { status, headers }), rotated: {} };
  }
  const { id_token: _idToken, ...rest } = body as Record<string, unknown>;
  const token = rest['refresh_token'];
  // A refresh_token that is not a string is oauth4webapi's to name.
  const problem = typeof token === 'string' ? refreshTokenProblem(token) : undefined;
  const rotated = typeof token === 'string' && problem === undefined ? { token } : problem === undefined ? {} : { problem };
  return { response: new Response(JSON.stringify(rest), { status, headers }), rotated };
}
