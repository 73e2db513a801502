import * as oauth from 'oauth4webapi';
import { OAuthError, isTransientStatus } from './oauth-error.js';
import { parseRetryAfter } from './retry-after.js';

// RFC 6749 5.2 limits `error` to these characters; anything else stays out of the message.
const errorCodeForm = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/;

/** The request never got a response: always worth another attempt. */
export function networkError(cause: unknown): OAuthError {
  return new OAuthError('Token request failed before a complete response arrived', { kind: 'network', retryable: true, cause });
}

/**
 * An earlier `Retry-After` has not passed, so no request was sent (RFC 6585 4). Retryable
 * when the rest of the wait is within `maxRetryAfterMs`: the stream then waits it out.
 */
export function stillWaitingError(retryAfterMs: number, maxRetryAfterMs: number): OAuthError {
  return new OAuthError('Token endpoint asked to wait (Retry-After): no request sent before then', {
    kind: 'retry-after',
    retryable: retryAfterMs <= maxRetryAfterMs,
    retryAfterMs,
  });
}

/**
 * Classifies what oauth4webapi threw while reading `response`.
 *
 * oauth4webapi's own errors are not kept as `cause`: theirs holds the parsed body (with
 * the access token) or the Response. Only their fixed messages, which name fields and
 * never values, are carried over.
 *
 * @param now The scheduler's time, against which a `Retry-After` date is measured.
 * @param maxRetryAfterMs A longer `Retry-After` makes the failure final instead of
 * holding every waiter that long.
 */
export function responseError(failure: unknown, response: Response, now: number, maxRetryAfterMs: number): OAuthError {
  const { status } = response;
  // RFC 6749 does not define Retry-After; 429 (RFC 6585) and 503 (RFC 9110) do.
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after'), now) : undefined;
  const waitsTooLong = retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs;
  const common = {
    status,
    retryable: isTransientStatus(status) && !waitsTooLong,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
  if (failure instanceof oauth.ResponseBodyError) {
    const { error, error_description: description } = failure;
    const named = errorCodeForm.test(error) ? error : 'an OAuth error';
    return new OAuthError(`Token endpoint answered ${status} with ${named}`, {
      kind: 'error-response',
      ...common,
      error,
      ...(typeof description === 'string' ? { error_description: description } : {}),
    });
  }
  if (status !== 200) {
    return new OAuthError(`Token endpoint answered ${status} without an OAuth error body`, { kind: 'http-status', ...common });
  }
  if (failure instanceof oauth.OperationProcessingError) {
    if (failure.code === oauth.PARSE_ERROR || failure.code === oauth.RESPONSE_IS_NOT_JSON) {
      return malformed(status, 'a body that is not JSON');
    }
    const body = (failure.cause as { body?: unknown } | undefined)?.body;
    if (failure.code === oauth.INVALID_RESPONSE && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      return malformed(status, 'JSON that is not an object');
    }
    return unusable(status, failure.message);
  }
  if (failure instanceof oauth.UnsupportedOperationError) {
    return unusable(status, '`token_type` must be Bearer');
  }
  return unusable(status, 'it could not be read');
}

function malformed(status: number, what: string): OAuthError {
  return new OAuthError(`Token endpoint answered ${status} with ${what}`, { kind: 'malformed-body', status, retryable: false });
}

/** A 2xx whose JSON object breaks RFC 6749 5.1; `detail` names the field, never a value. */
export function unusable(status: number, detail: string): OAuthError {
  return new OAuthError(`Token endpoint answered ${status} with an unusable token response: ${detail}`, {
    kind: 'invalid-token-response',
    status,
    retryable: false,
  });
}
