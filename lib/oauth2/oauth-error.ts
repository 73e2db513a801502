import { TokenError } from '../errors.js';

/**
 * What failed in a token request, beyond the shared `ERR_OAUTH` code.
 *
 * - `error-response`: the endpoint answered with an RFC 6749 5.2 error (`error` is set).
 * - `http-status`: an unexpected status without an OAuth error body (a proxy's 502 page).
 * - `malformed-body`: a 200 whose body is not JSON, or JSON that is not an object.
 * - `invalid-token-response`: a 200 JSON object that breaks RFC 6749 5.1 (no `access_token`,
 *   an unusable `expires_in` or `token_type`).
 * - `response-too-large`: the response is longer than `maxResponseBytes`; it was not read further.
 * - `network`: no response at all (connection refused or reset, request aborted).
 * - `retry-after`: no request was sent, because an earlier `Retry-After` has not passed.
 * - `reauth-required`: `refreshTokenGrant` holds no usable refresh token for the key (the
 *   IdP refused it with `invalid_grant`, or none was stored): only a new consent, saved with
 *   `store.put`, mends it, and no request is sent until then.
 */
export type OAuthErrorKind =
  | 'error-response'
  | 'http-status'
  | 'malformed-body'
  | 'invalid-token-response'
  | 'response-too-large'
  | 'network'
  | 'retry-after'
  | 'reauth-required';

/** What an {@link OAuthError} carries. */
export interface OAuthErrorDetails {
  kind: OAuthErrorKind;
  /** Whether the stream should try again within the same refresh. */
  retryable: boolean;
  /** The HTTP status, when a response arrived. */
  status?: number;
  /**
   * The RFC 6749 5.2 `error` code the endpoint sent, with known secrets redacted; absent
   * when it is not in RFC 6749's form (printable ASCII without `"` and `\`, at most 64 characters).
   */
  error?: string;
  /**
   * The endpoint's `error_description`, with known secrets redacted and control characters
   * replaced, cut to 512 characters.
   */
  error_description?: string;
  /** How long the endpoint asked us to wait (its `Retry-After`), in ms. */
  retryAfterMs?: number;
  /**
   * For `network` failures only: a plain Error with the transport's error's `name`, `code`
   * and redacted `message`, never the transport's error itself (it may hold the request).
   */
  cause?: unknown;
}

/**
 * A token request failed (or, for `retry-after` and `reauth-required`, was not sent). The
 * TokenStream reads `retryable` and `retryAfterMs` to decide whether, and when, to try again.
 *
 * It never holds the client secret, a refresh token, the request, the response or its
 * body: only the fields below, with what the server or the transport wrote redacted, so
 * that logging it (message, `util.inspect`, `JSON.stringify`) is safe whatever they echoed.
 *
 * @example
 * ```ts
 * if (isTokenError(err) && err.cause instanceof OAuthError && err.cause.error === 'invalid_client') rotateCredentials()
 * ```
 */
export class OAuthError extends TokenError {
  static override readonly code = 'ERR_OAUTH' as const;
  declare readonly code: 'ERR_OAUTH';
  readonly kind: OAuthErrorKind;
  override name = 'OAuthError';
  /** `false` for failures that a retry cannot fix (a 4xx such as `invalid_client`). */
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly error: string | undefined;
  readonly error_description: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: OAuthErrorDetails) {
    super('ERR_OAUTH', message, 'cause' in details ? { cause: details.cause } : {});
    this.kind = details.kind;
    this.retryable = details.retryable;
    this.status = details.status;
    this.error = details.error;
    this.error_description = details.error_description;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** The structured fields, never the cause. */
  override toJSON(): ReturnType<TokenError['toJSON']> & Omit<OAuthErrorDetails, 'cause'> {
    return {
      ...super.toJSON(),
      kind: this.kind,
      retryable: this.retryable,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.error === undefined ? {} : { error: this.error }),
      ...(this.error_description === undefined ? {} : { error_description: this.error_description }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
    };
  }
}

/**
 * Whether a response with `status` is worth asking again: 408, 429 and 5xx are the
 * server's momentary trouble. Every other status, including each RFC 6749 5.2 error
 * (`invalid_client`, `invalid_grant`, ...), gets the same answer however often it is
 * asked, and retrying `invalid_grant` forever is the storm this source exists to prevent.
 */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}
