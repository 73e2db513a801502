import * as oauth from 'oauth4webapi';
import { OAuthError, isTransientStatus, type OAuthErrorDetails } from './oauth-error.js';
import type { Redactor } from './redact.js';
import { parseRetryAfter } from './retry-after.js';

// RFC 6749 5.2 limits `error` to these characters; any other value is not an error code.
const errorCodeForm = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/;
// RFC 6749 sets no limit; a description is a sentence for a developer, not a page.
export const MAX_DESCRIPTION_LENGTH = 512;
// The RFC 6749 5.1 fields oauth4webapi checks, named in its messages as `"response" body "x" property`.
const checkedFields = new Set(['access_token', 'token_type', 'expires_in', 'refresh_token', 'scope', 'id_token']);

// The errors built here. A transport may throw anything, an OAuthError of its own making
// included; only these pass through without being copied.
const own = new WeakSet<OAuthError>();

function ours(message: string, details: OAuthErrorDetails): OAuthError {
  const error = new OAuthError(message, details);
  own.add(error);
  return error;
}

/**
 * What a token request that threw (in the transport, or while reading the body) fails
 * with: the errors of this source as they are, anything else as a retryable `network`
 * failure whose cause is a redacted copy, never the transport's own error.
 */
export function transportError(failure: unknown, redact: Redactor): OAuthError {
  if (failure instanceof OAuthError && own.has(failure)) return failure;
  return ours('Token request failed before a complete response arrived', { kind: 'network', retryable: true, cause: redact.error(failure) });
}

/**
 * An earlier `Retry-After` has not passed, so no request was sent (RFC 6585 4). Retryable
 * when the rest of the wait is within `maxRetryAfterMs`: the stream then waits it out.
 */
export function stillWaitingError(retryAfterMs: number, maxRetryAfterMs: number): OAuthError {
  return ours('Token endpoint asked to wait (Retry-After): no request sent before then', {
    kind: 'retry-after',
    retryable: retryAfterMs <= maxRetryAfterMs,
    retryAfterMs,
  });
}

/** The response is longer than `maxResponseBytes`: it was not read further. */
export function tooLargeError(status: number, maxResponseBytes: number): OAuthError {
  return ours(`Token endpoint answered ${status} with more than ${maxResponseBytes} bytes (maxResponseBytes)`, {
    kind: 'response-too-large',
    status,
    retryable: false,
  });
}

/** A status outside 200-599, which no fetch Response can hold and no token endpoint sends. */
export function statusError(status: number): OAuthError {
  return ours(`Token endpoint answered ${status} without an OAuth error body`, { kind: 'http-status', status, retryable: false });
}

/**
 * Classifies what oauth4webapi threw while reading `response`.
 *
 * oauth4webapi's own errors are not kept as `cause`: theirs holds the parsed body (with
 * the access token) or the Response. The server's `error` and `error_description` are
 * kept only redacted, and `error` only in RFC 6749's form: a server may echo what it got.
 *
 * @param now The scheduler's time, against which a `Retry-After` date is measured.
 * @param maxRetryAfterMs A longer `Retry-After` makes the failure final instead of
 * holding every waiter that long.
 */
export function responseError(failure: unknown, response: Response, now: number, maxRetryAfterMs: number, redact: Redactor): OAuthError {
  const { status } = response;
  // RFC 6749 does not define Retry-After; 429 (RFC 6585) and 503 (RFC 9110) do.
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after'), now) : undefined;
  // Equal is still waited out: the limit is the longest wait, not the first refused one.
  const waitsTooLong = retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs;
  const common = {
    status,
    retryable: isTransientStatus(status) && !waitsTooLong,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
  if (failure instanceof oauth.ResponseBodyError) {
    const { error, error_description: description } = failure;
    // The form is checked before redaction (which turns controls into spaces) and after it.
    const code = typeof error === 'string' && errorCodeForm.test(error) ? redact.text(error, Infinity) : '';
    const named = errorCodeForm.test(code) ? code : undefined;
    return ours(`Token endpoint answered ${status} with ${named ?? 'an OAuth error'}`, {
      kind: 'error-response',
      ...common,
      ...(named === undefined ? {} : { error: named }),
      ...(typeof description === 'string' ? { error_description: redact.text(description, MAX_DESCRIPTION_LENGTH) } : {}),
    });
  }
  if (status !== 200) {
    return ours(`Token endpoint answered ${status} without an OAuth error body`, { kind: 'http-status', ...common });
  }
  if (failure instanceof oauth.OperationProcessingError) {
    if (failure.code === oauth.PARSE_ERROR || failure.code === oauth.RESPONSE_IS_NOT_JSON) {
      return malformed(status, 'a body that is not JSON');
    }
    // Only the top-level check hands over a body that is no object; a failed id_token check
    // hands over none at all, and is a 5.1 failure like any other field's.
    const { cause } = failure;
    const body: unknown = typeof cause === 'object' && cause !== null && 'body' in cause ? cause.body : {};
    if (failure.code === oauth.INVALID_RESPONSE && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      return malformed(status, 'JSON that is not an object');
    }
    // oauth4webapi checks an id_token's claims without naming the field.
    const field = /JWT|ID Token/.test(failure.message) ? 'id_token' : /^"response" body "(\w+)" property/.exec(failure.message)?.[1];
    return unusable(status, field !== undefined && checkedFields.has(field) ? `\`${field}\` is missing or malformed` : 'it breaks RFC 6749 5.1');
  }
  if (failure instanceof oauth.UnsupportedOperationError) {
    return unusable(status, '`token_type` must be Bearer');
  }
  return unusable(status, 'it could not be read');
}

function malformed(status: number, what: string): OAuthError {
  return ours(`Token endpoint answered ${status} with ${what}`, { kind: 'malformed-body', status, retryable: false });
}

/** A 2xx whose JSON object breaks RFC 6749 5.1; `detail` names the field, never a value. */
export function unusable(status: number, detail: string): OAuthError {
  return ours(`Token endpoint answered ${status} with an unusable token response: ${detail}`, {
    kind: 'invalid-token-response',
    status,
    retryable: false,
  });
}
