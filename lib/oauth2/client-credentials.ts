import * as oauth from 'oauth4webapi';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { defaultFetch } from '../http/default-fetch.js';
import { isLoopbackHost } from '../http/origins.js';
import { checkOptionsObject, isNonEmptyString, isScheduler, optionChecker } from '../options.js';
import type { Token, TokenSource, TokenSourceContext } from '../token.js';
import { responseError, stillWaitingError, transportError } from './failure.js';
import { basicCredentials, redactor } from './redact.js';
import { toToken } from './token-response.js';
import { webFetch, type TokenFetch } from './web-fetch.js';

/** How {@link clientCredentials} reaches the token endpoint. */
export interface ClientCredentialsOptions {
  /** The token endpoint. `https:`, or `http:` on a loopback host (or with `allowHttp`). */
  tokenUrl: string | URL;
  /** The client identifier (RFC 6749 2.2). */
  clientId: string;
  /** The client secret. It never appears in an error, a message or an event. */
  clientSecret: string;
  /**
   * The `scope` parameter: a space-delimited string or a list.
   * @default undefined (not sent)
   */
  scope?: string | readonly string[];
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
  /**
   * The HTTP transport.
   * @default node-fetch v3
   */
  fetch?: TokenFetch;
  /**
   * The clock that dates tokens (`expiresAt`) and `Retry-After`. Pass the TokenStream's.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
  /**
   * The lifetime of a token sent without `expires_in` (RFC 6749 5.1 leaves it to the
   * server's documentation). `Infinity`: valid until a 401 invalidates it.
   * @default 3_600_000 (one hour)
   */
  defaultExpiresInMs?: number;
  /**
   * The longest `Retry-After` that is waited out. Beyond it the refresh fails at once
   * rather than holding every waiting request that long.
   * @default 60_000
   */
  maxRetryAfterMs?: number;
  /**
   * The longest token response read, in bytes. A longer one (by its `Content-Length`, or
   * counted as it arrives) is refused with a final `OAuthError` of kind
   * `response-too-large`, and its connection closed without reading the rest.
   * @default 1_048_576 (1 MiB)
   */
  maxResponseBytes?: number;
  /**
   * Allows an `http:` token URL on a non-loopback host, which sends the secret in clear.
   * @default false
   */
  allowHttp?: boolean;
}

// Retry-After counts whole seconds, and a timer may fire a millisecond early: the stream's
// own wait for a Retry-After must not be turned away by the gate below.
const RETRY_AFTER_SLACK_MS = 100;

const check = optionChecker('clientCredentials');

function parseTokenUrl(tokenUrl: unknown, allowHttp: boolean): URL {
  let url: URL | null = null;
  try {
    // URL.parse would do, but it came with Node 20.18 and the floor is Node 20.
    if (typeof tokenUrl === 'string' || tokenUrl instanceof URL) url = new URL(tokenUrl);
  } catch {
    url = null;
  }
  check(url !== null, 'tokenUrl', 'an absolute URL');
  const { protocol, hostname, username, password, hash } = url as URL;
  check(
    protocol === 'https:' || (protocol === 'http:' && (allowHttp || isLoopbackHost(hostname))),
    'tokenUrl',
    'https: (http: only on a loopback host, or with `allowHttp`)',
  );
  check(username === '' && password === '', 'tokenUrl', 'free of credentials (use clientId and clientSecret)');
  check(hash === '', 'tokenUrl', 'free of a fragment (RFC 6749 3.2)');
  return url as URL;
}

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
  const {
    tokenUrl,
    clientId,
    clientSecret,
    scope,
    audience,
    clientAuth = 'basic',
    fetch = defaultFetch,
    scheduler = asyncScheduler,
    defaultExpiresInMs = 3_600_000,
    maxRetryAfterMs = 60_000,
    maxResponseBytes = 1_048_576,
    allowHttp = false,
  } = options;
  check(typeof allowHttp === 'boolean', 'allowHttp', 'a boolean');
  const url = parseTokenUrl(tokenUrl, allowHttp);
  check(isNonEmptyString(clientId), 'clientId', 'a non-empty string');
  check(isNonEmptyString(clientSecret), 'clientSecret', 'a non-empty string');
  check(
    scope === undefined || isNonEmptyString(scope) || (Array.isArray(scope) && scope.length > 0 && scope.every(isNonEmptyString)),
    'scope',
    'a non-empty string or a non-empty list of them',
  );
  check(audience === undefined || isNonEmptyString(audience), 'audience', 'a non-empty string');
  check(clientAuth === 'basic' || clientAuth === 'post', 'clientAuth', "'basic' or 'post'");
  check(typeof fetch === 'function', 'fetch', 'a fetch function');
  check(isScheduler(scheduler), 'scheduler', 'an RxJS SchedulerLike');
  check(defaultExpiresInMs > 0 && (Number.isFinite(defaultExpiresInMs) || defaultExpiresInMs === Infinity), 'defaultExpiresInMs', 'a number > 0');
  check(maxRetryAfterMs >= 0 && Number.isFinite(maxRetryAfterMs), 'maxRetryAfterMs', 'a finite number >= 0');
  check(Number.isSafeInteger(maxResponseBytes) && maxResponseBytes > 0, 'maxResponseBytes', 'an integer > 0');

  const as: oauth.AuthorizationServer = { issuer: url.origin, token_endpoint: url.href };
  const client: oauth.Client = { client_id: clientId };
  const authenticate = clientAuth === 'post' ? oauth.ClientSecretPost(clientSecret) : oauth.ClientSecretBasic(clientSecret);
  const parameters: Record<string, string> = {
    ...(scope === undefined ? {} : { scope: typeof scope === 'string' ? scope : scope.join(' ') }),
    ...(audience === undefined ? {} : { audience }),
  };
  const transport = webFetch(fetch, maxResponseBytes);
  // The secret alone (the form body of 'post') and inside the Basic credential.
  const redact = redactor([clientSecret, ...basicCredentials(clientId, clientSecret)]);
  const insecure = url.protocol === 'http:';
  // From the last 429/503's Retry-After. The stream's retry waits it out within a refresh,
  // but a refresh that gave up is followed by a fresh one on the next demand: without this,
  // a busy service would send the endpoint one request per demand while it asks for calm.
  let notBefore = -Infinity;

  return async ({ signal }) => {
    const sentAt = scheduler.now();
    if (notBefore - sentAt > RETRY_AFTER_SLACK_MS) throw stillWaitingError(notBefore - sentAt, maxRetryAfterMs);
    let response: Response;
    try {
      response = await oauth.clientCredentialsGrantRequest(as, client, authenticate, parameters, {
        signal,
        [oauth.customFetch]: transport,
        // Checked above: http: only for loopback or an explicit allowHttp.
        [oauth.allowInsecureRequests]: insecure,
      });
    } catch (failure) {
      throw transportError(failure, redact);
    }
    let body: oauth.TokenEndpointResponse;
    try {
      body = await oauth.processClientCredentialsResponse(as, client, response);
    } catch (failure) {
      const receivedAt = scheduler.now();
      const error = responseError(failure, response, receivedAt, maxRetryAfterMs, redact);
      if (error.retryAfterMs !== undefined) notBefore = receivedAt + error.retryAfterMs;
      throw error;
    }
    return toToken(body, sentAt, defaultExpiresInMs);
  };
}
