import * as oauth from 'oauth4webapi';
import { checkOptionsObject, isNonEmptyString, optionChecker } from '../options.js';
import type { Token, TokenSource, TokenSourceContext } from '../token.js';
import { redactor } from './redact.js';
import { TokenEndpoint, type TokenEndpointOptions } from './token-endpoint.js';

/** How {@link clientCredentials} reaches the token endpoint. */
export interface ClientCredentialsOptions extends TokenEndpointOptions {
  /** The client secret. It never appears in an error, a message or an event. */
  clientSecret: string;
  /**
   * The `audience` parameter some servers (Auth0, Okta) use to pick the API.
   * @default undefined (not sent)
   */
  audience?: string;
  /**
   * How the client authenticates (RFC 6749 2.3.1): HTTP Basic, which servers MUST
   * support, or `client_id` and `client_secret` in the form body.
   * @default 'basic'
   */
  clientAuth?: 'basic' | 'post';
}

const check = optionChecker('clientCredentials');

/**
 * A {@link TokenSource} (promise-returning) that asks an OAuth 2.0 token endpoint for a token with the client
 * credentials grant (RFC 6749 4.4).
 *
 * Each call sends one request, cancelled by the stream's signal (the body read included),
 * and reads at most `maxResponseBytes` of the answer. The token's `expiresAt` counts from
 * when the request was sent. Failures are {@link OAuthError}s: `retryable` says whether the
 * stream should try again, `retryAfterMs` when (429 and 503). Until a `Retry-After` has
 * passed, calls fail at once without a request (kind `retry-after`). No failure holds the
 * client secret in any form, whatever the endpoint or the transport echoed: what they wrote
 * is kept only redacted.
 *
 * @throws {TypeError} at once, naming the bad option (never its value).
 * @example
 * ```ts
 * const tokens = new TokenStream({
 *   source: clientCredentials({ tokenUrl: 'https://auth.example.com/oauth/token', clientId, clientSecret }),
 * })
 * ```
 */
export function clientCredentials(options: ClientCredentialsOptions): (context: TokenSourceContext) => Promise<Token> {
  checkOptionsObject(check, options, 'tokenUrl, clientId, clientSecret');
  const { clientSecret, clientAuth = 'basic', audience } = options;
  const endpoint = new TokenEndpoint(check, options, { clientSecret, clientAuth, secretRequired: true });
  check(audience === undefined || isNonEmptyString(audience), 'audience', 'a non-empty string');
  const { as, client, authenticate } = endpoint;
  const parameters: Record<string, string> = {
    ...(endpoint.scope === undefined ? {} : { scope: endpoint.scope }),
    ...(audience === undefined ? {} : { audience }),
  };
  const redact = redactor(endpoint.secrets);

  return async ({ signal }) => {
    const { response, sentAt } = await endpoint.send(
      (request) => oauth.clientCredentialsGrantRequest(as, client, authenticate, parameters, request),
      signal,
      redact,
    );
    let body: oauth.TokenEndpointResponse;
    try {
      body = await oauth.processClientCredentialsResponse(as, client, response);
    } catch (failure) {
      throw endpoint.failure(failure, response, redact);
    }
    return endpoint.token(body, response, sentAt);
  };
}
