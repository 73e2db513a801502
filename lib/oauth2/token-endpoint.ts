/**
 * What both OAuth sources (clientCredentials, refreshTokenGrant) share: their endpoint
 * options and the one check of them, the request with its transport and its Retry-After
 * gate, and how an answer becomes a token or a failure.
 */
import * as oauth from 'oauth4webapi';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { defaultFetch } from '../http/default-fetch.js';
import { isLoopbackHost } from '../http/origins.js';
import { isNonEmptyString, isScheduler, type Check } from '../options.js';
import type { Token } from '../token.js';
import { responseError, stillWaitingError, transportError } from './failure.js';
import type { OAuthError } from './oauth-error.js';
import { basicCredentials, type Redactor } from './redact.js';
import { toToken } from './token-response.js';
import { webFetch, type TokenFetch } from './web-fetch.js';

/** The options of an OAuth source that say where its token endpoint is and how to read it. */
export interface TokenEndpointOptions {
  /** The token endpoint. `https:`, or `http:` on a loopback host (or with `allowHttp`). */
  tokenUrl: string | URL;
  /** The client identifier (RFC 6749 2.2). */
  clientId: string;
  /**
   * The `scope` parameter: a space-delimited string or a list.
   * @default undefined (not sent)
   */
  scope?: string | readonly string[];
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
   * server's documentation) whose access token is not a JWT with `exp`. `Infinity`: valid
   * until a 401 invalidates it.
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
   * Allows an `http:` token URL on a non-loopback host, which sends secrets in clear.
   * @default false
   */
  allowHttp?: boolean;
}

/** How the client authenticates: what `clientAuth` may say. */
export type ClientAuthMethod = 'basic' | 'post' | 'none';

// Retry-After counts whole seconds, and a timer may fire a millisecond early: the stream's
// own wait for a Retry-After must not be turned away by the gate below.
const RETRY_AFTER_SLACK_MS = 100;

/** One oauth4webapi grant request, given the options that every request of a source shares. */
export type GrantRequest = (options: oauth.TokenEndpointRequestOptions) => Promise<Response>;

/**
 * A checked token endpoint, with the state its requests share (the Retry-After gate).
 *
 * From the last 429/503's Retry-After, calls fail at once without a request: the stream's
 * retry waits it out within a refresh, but a refresh that gave up is followed by a fresh
 * one on the next demand, and without the gate a busy service would send the endpoint one
 * request per demand while it asks for calm.
 */
export class TokenEndpoint {
  readonly as: oauth.AuthorizationServer;
  readonly client: oauth.Client;
  readonly authenticate: oauth.ClientAuth;
  readonly clientAuth: ClientAuthMethod;
  readonly scheduler: SchedulerLike;
  /** The `scope` parameter to send, if any. */
  readonly scope: string | undefined;
  /** The client secret in each form a request carries it: for the redactor. */
  readonly secrets: readonly string[];
  readonly #transport: ReturnType<typeof webFetch>;
  readonly #insecure: boolean;
  readonly #defaultExpiresInMs: number;
  readonly #maxRetryAfterMs: number;
  #notBefore = -Infinity;

  /**
   * Checks the endpoint options and the client's credentials.
   * @param check the owner's option checker: errors name the source and the option.
   * @param auth `clientSecret` and `clientAuth` as the source received them; `secretRequired`
   * says whether a missing secret is an error, or a public client (`clientAuth: 'none'`).
   * @throws {TypeError} naming the first bad option, never its value.
   */
  constructor(
    check: Check,
    options: TokenEndpointOptions,
    auth: { clientSecret: unknown; clientAuth: unknown; secretRequired: boolean },
  ) {
    const {
      tokenUrl,
      clientId,
      scope,
      fetch = defaultFetch,
      scheduler = asyncScheduler,
      defaultExpiresInMs = 3_600_000,
      maxRetryAfterMs = 60_000,
      maxResponseBytes = 1_048_576,
      allowHttp = false,
    } = options;
    check(typeof allowHttp === 'boolean', 'allowHttp', 'a boolean');
    const url = parseTokenUrl(check, tokenUrl, allowHttp);
    check(isNonEmptyString(clientId), 'clientId', 'a non-empty string');
    const { clientSecret, secretRequired } = auth;
    check(
      isNonEmptyString(clientSecret) || (!secretRequired && clientSecret === undefined),
      'clientSecret',
      secretRequired ? 'a non-empty string' : 'a non-empty string, or absent for a public client',
    );
    const clientAuth = auth.clientAuth ?? (clientSecret === undefined ? 'none' : 'basic');
    if (secretRequired) check(clientAuth === 'basic' || clientAuth === 'post', 'clientAuth', "'basic' or 'post'");
    else check(clientAuth === 'basic' || clientAuth === 'post' || clientAuth === 'none', 'clientAuth', "'basic', 'post' or 'none'");
    check((clientAuth === 'none') === (clientSecret === undefined), 'clientAuth', "'none' exactly when there is no clientSecret");
    check(
      scope === undefined || isNonEmptyString(scope) || (Array.isArray(scope) && scope.length > 0 && scope.every(isNonEmptyString)),
      'scope',
      'a non-empty string or a non-empty list of them',
    );
    check(typeof fetch === 'function', 'fetch', 'a fetch function');
    check(isScheduler(scheduler), 'scheduler', 'an RxJS SchedulerLike');
    check(defaultExpiresInMs > 0 && (Number.isFinite(defaultExpiresInMs) || defaultExpiresInMs === Infinity), 'defaultExpiresInMs', 'a number > 0');
    check(maxRetryAfterMs >= 0 && Number.isFinite(maxRetryAfterMs), 'maxRetryAfterMs', 'a finite number >= 0');
    check(Number.isSafeInteger(maxResponseBytes) && maxResponseBytes > 0, 'maxResponseBytes', 'an integer > 0');

    this.as = { issuer: url.origin, token_endpoint: url.href };
    this.client = { client_id: clientId };
    const secret = clientSecret as string;
    this.clientAuth = clientAuth as ClientAuthMethod;
    this.authenticate = clientAuth === 'none' ? oauth.None() : clientAuth === 'post' ? oauth.ClientSecretPost(secret) : oauth.ClientSecretBasic(secret);
    // The secret alone (the form body of 'post') and inside the Basic credential.
    this.secrets = clientSecret === undefined ? [] : [secret, ...basicCredentials(clientId, secret)];
    this.scope = scope === undefined ? undefined : typeof scope === 'string' ? scope : scope.join(' ');
    this.scheduler = scheduler;
    this.#transport = webFetch(fetch, maxResponseBytes);
    // Checked above: http: only for loopback or an explicit allowHttp.
    this.#insecure = url.protocol === 'http:';
    this.#defaultExpiresInMs = defaultExpiresInMs;
    this.#maxRetryAfterMs = maxRetryAfterMs;
  }

  /**
   * Sends one grant request, cancelled by `signal` (the body read included).
   * @returns the response, read whole, and when the request went out.
   * @throws {OAuthError} `retry-after` before an earlier Retry-After has passed (no request
   * is sent); `network` when no complete response arrived, with a redacted cause.
   */
  async send(request: GrantRequest, signal: AbortSignal, redact: Redactor): Promise<{ response: Response; sentAt: number }> {
    const sentAt = this.scheduler.now();
    const wait = this.#notBefore - sentAt;
    if (wait > RETRY_AFTER_SLACK_MS) throw stillWaitingError(wait, this.#maxRetryAfterMs);
    try {
      const response = await request({ signal, [oauth.customFetch]: this.#transport, [oauth.allowInsecureRequests]: this.#insecure });
      return { response, sentAt };
    } catch (failure) {
      throw transportError(failure, redact);
    }
  }

  /** What oauth4webapi's failure to read `response` becomes; a Retry-After in it closes the gate. */
  failure(failure: unknown, response: Response, redact: Redactor): OAuthError {
    const receivedAt = this.scheduler.now();
    const error = responseError(failure, response, receivedAt, this.#maxRetryAfterMs, redact);
    if (error.retryAfterMs !== undefined) this.#notBefore = receivedAt + error.retryAfterMs;
    return error;
  }

  /** The token of a checked 5.1 `response` sent at `sentAt` (see `toToken`). */
  token(body: oauth.TokenEndpointResponse, response: Response, sentAt: number): Token {
    return toToken(body, { sentAt, date: response.headers.get('date') }, this.#defaultExpiresInMs);
  }
}

function parseTokenUrl(check: Check, tokenUrl: unknown, allowHttp: boolean): URL {
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
