/**
 * The stable codes of {@link TokenError}. Callers `switch (err.code)`.
 */
export type TokenErrorCode =
  | 'ERR_TOKEN_REFRESH'
  | 'ERR_TOKEN_TIMEOUT'
  | 'ERR_TOKEN_ABORTED'
  | 'ERR_TOKEN_CLOSED'
  | 'ERR_OAUTH';

/** What a {@link TokenError} may carry besides its code and message. */
export interface TokenErrorDetails {
  /** The underlying error (the source's error, an abort reason). */
  cause?: unknown;
  /** How many source calls were made for the refresh that failed. */
  attempts?: number;
}

// A registered symbol, so that copies of this package recognise each other's errors.
const brand = Symbol.for('rx-token-stream.TokenError');

/**
 * The base of every error this library raises.
 *
 * Its message never holds a token or a secret, and neither does `JSON.stringify(err)`:
 * structured context lives in fields (`code`, `attempts`), never in the message.
 * `util.inspect(err)` does show `cause` (the source's own error, an abort reason) on
 * purpose: it is what a log needs to explain the failure, so a source must keep
 * secrets out of its errors.
 *
 * @example
 * ```ts
 * try { await tokens.getToken() } catch (err) {
 *   if (isTokenError(err) && err.code === 'ERR_TOKEN_TIMEOUT') retryLater()
 * }
 * ```
 */
export class TokenError extends Error {
  static readonly code: TokenErrorCode | undefined = undefined;
  override name: string = 'TokenError';
  /** The stable code of this failure. */
  readonly code: TokenErrorCode;
  /** How many source calls the failed refresh made, when the failure is a refresh's. */
  readonly attempts: number | undefined;

  constructor(code: TokenErrorCode, message: string, details: TokenErrorDetails = {}) {
    super(message, 'cause' in details ? { cause: details.cause } : undefined);
    this.code = code;
    this.attempts = details.attempts;
  }

  /** Marks every TokenError, including those of another copy of this package. */
  get [brand](): true {
    return true;
  }

  /** A JSON form that carries the code and context, never the cause's own text. */
  toJSON(): { name: string; code: TokenErrorCode; message: string; attempts?: number } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.attempts === undefined ? {} : { attempts: this.attempts }),
    };
  }
}

/**
 * Whether `value` is a {@link TokenError}. Works across realms and copies of the
 * package, where `instanceof` does not.
 */
export function isTokenError(value: unknown): value is TokenError {
  return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
}

// Errors of this library's own checks: their messages name a problem, never a value, so a
// refresh that failed on one can say why in its own message.
const ownChecks = new WeakSet<object>();
// The stream's own timeouts: a refresh that ends on one says only that, with no cause.
const streamDeadlines = new WeakSet<object>();

/** What a source returned is not a token (see `tokenProblem`): retrying cannot mend it. */
export function invalidTokenError(problem: string): TypeError {
  const error = Object.assign(new TypeError(`Token source returned no usable token: ${problem}`), { retryable: false });
  ownChecks.add(error);
  return error;
}

/**
 * The refresh failed for good: its attempts ran out, or the source said not to retry.
 *
 * - The stream's own deadline: `ERR_TOKEN_TIMEOUT`, saying how long it waited.
 * - A source that timed out on its own (a `TokenError` of code `ERR_TOKEN_TIMEOUT`, such as
 *   the Redis wait's): `ERR_TOKEN_TIMEOUT`, with the source's error as `cause`.
 * - Anything else: `ERR_TOKEN_REFRESH`, with the source's error as `cause`.
 *
 * When the cause is one of this library's own checks, its reason is in the message too; a
 * source's own error stays in `cause` only, as it may hold what a message must not show.
 */
export function refreshError(cause: unknown, attempts: number): TokenError {
  if (typeof cause === 'object' && cause !== null && streamDeadlines.has(cause)) {
    return new TokenError('ERR_TOKEN_TIMEOUT', (cause as TokenError).message, { attempts });
  }
  const own = typeof cause === 'object' && cause !== null && ownChecks.has(cause);
  const timedOut = isTokenError(cause) && cause.code === 'ERR_TOKEN_TIMEOUT';
  const reason = own ? `: ${(cause as Error).message}` : timedOut ? ': the source timed out' : '';
  return new TokenError(timedOut ? 'ERR_TOKEN_TIMEOUT' : 'ERR_TOKEN_REFRESH', `Token refresh failed after ${attempts} attempt(s)${reason}`, {
    cause,
    attempts,
  });
}

/** One source call did not settle within the stream's `timeoutMs`. */
export function timeoutError(timeoutMs: number): TokenError {
  const error = new TokenError('ERR_TOKEN_TIMEOUT', `Token source did not answer within ${timeoutMs} ms`);
  streamDeadlines.add(error);
  return error;
}

/** The caller's signal aborted its wait. */
export function abortedError(reason: unknown): TokenError {
  return new TokenError('ERR_TOKEN_ABORTED', 'Waiting for a token was aborted', { cause: reason });
}

/** The stream was closed. */
export function closedError(): TokenError {
  return new TokenError('ERR_TOKEN_CLOSED', 'The token stream is closed');
}

/**
 * An entry was loaded without the optional peer dependency it needs (`rx-token-stream/redis`
 * without `ioredis`). It keeps Node's `ERR_MODULE_NOT_FOUND` code, and Node's error as `cause`.
 */
export function missingPeerError(entry: string, peer: string, cause: unknown): Error {
  return Object.assign(new Error(`${entry} needs ${peer}: npm install ${peer}`, { cause }), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
}

/** A call to a `redisShared` source made after (or cut short by) its `close()`. */
export function sharedSourceClosedError(): TokenError {
  return Object.assign(new TokenError('ERR_TOKEN_CLOSED', 'The shared token source is closed'), { retryable: false });
}

/**
 * A `redisShared` source waited `waitTimeoutMs` for the process holding the lock. Retryable:
 * the next attempt may find the token, or the lock gone.
 */
export function sharedWaitTimeoutError(waitTimeoutMs: number): TokenError {
  const error = new TokenError(
    'ERR_TOKEN_TIMEOUT',
    `No shared token from the process holding the lock within ${waitTimeoutMs} ms`,
  );
  ownChecks.add(error);
  return error;
}

// The failures of redisShared's Redis steps. Internal: they never reach a caller, they make
// the shared source call the wrapped source directly and report a `redis-fallback`.
const redisFailures = new WeakSet<object>();

/**
 * Redis could not be used for one step of `redisShared`: down, slow, answering an error, or
 * holding a key that is not what the fleet writes. The message names the step and the
 * problem, never a stored value; a password in a URL is masked.
 */
export function redisUnavailableError(step: string, problem: unknown): Error {
  const text = problem instanceof Error ? problem.message : String(problem);
  const error = new Error(`${step}: ${text.replace(/\/\/[^@/\s]*@/g, '//***@').slice(0, 200)}`);
  error.name = 'RedisUnavailableError';
  redisFailures.add(error);
  return error;
}

/** Whether `error` came from {@link redisUnavailableError}. */
export function isRedisUnavailableError(error: unknown): error is Error {
  return typeof error === 'object' && error !== null && redisFailures.has(error);
}
