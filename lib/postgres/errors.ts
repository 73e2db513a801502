/**
 * The one error of `rx-token-stream/postgres`. It is built from what went wrong, never by
 * passing pg's error on: a pg error can echo the statement's parameters or the failing row
 * (`detail: Failing row contains (..., <refresh token>, ...)`, `invalid input syntax for
 * type ...: "<value>"`), so its message, detail and the error itself stay out.
 */

/** Which call of the store failed. */
export type PostgresStoreStep = 'get' | 'put' | 'lease' | 'release' | 'save' | 'fail' | 'migrate' | 'listen';

// A registered symbol, so that copies of this package recognise each other's errors.
const brand = Symbol.for('rx-token-stream.PostgresStoreError');

/**
 * A call of a PostgreSQL credential store failed. Its message says which call and why in
 * words of this library, with the SQLSTATE when the server answered one; never a value.
 */
export class PostgresStoreError extends Error {
  static readonly code = 'ERR_CREDENTIAL_STORE' as const;
  override name = 'PostgresStoreError' as const;
  /** Stable: callers `switch (err.code)`. */
  readonly code = PostgresStoreError.code;
  /** The call that failed. */
  readonly step: PostgresStoreStep;
  /** The server's SQLSTATE (`'42P01'`, `'57P01'`...), when the server answered with an error. */
  readonly sqlState: string | undefined;
  /**
   * Whether trying again later may work: a lost connection, a timeout, an exhausted pool or
   * a server shutting down. A missing table or a refused login will not mend by itself.
   */
  readonly retryable: boolean;

  constructor(step: PostgresStoreStep, problem: string, details: { sqlState?: string; retryable: boolean }) {
    super(`rx-token-stream/postgres: ${step} failed: ${problem}`);
    this.step = step;
    this.sqlState = details.sqlState;
    this.retryable = details.retryable;
  }

  /** Marks every PostgresStoreError, including those of another copy of this package. */
  get [brand](): true {
    return true;
  }
}

/** Whether `value` is a {@link PostgresStoreError}, across realms and copies of the package. */
export function isPostgresStoreError(value: unknown): value is PostgresStoreError {
  return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
}

// What an SQLSTATE means for a caller (PostgreSQL manual, appendix A), by code then class.
const BY_CODE: Record<string, [string, boolean]> = {
  '42P01': ['the table does not exist: run store.migrate() once', false],
  '42703': ['the table lacks a column this store uses (made by an older version, or by hand?): see docs/postgres.md', false],
  '42501': ['permission denied on the table', false],
  '57014': ['the statement was cancelled (statement_timeout?)', true],
  '40001': ['a serialization failure', true],
  '40P01': ['a deadlock', true],
  '55P03': ['a lock was not available', true],
};
const BY_CLASS: Record<string, [string, boolean]> = {
  '08': ['the connection failed', true],
  '53': ['the server is out of resources (too many connections?)', true],
  '57': ['the server is shutting down or restarting', true],
  '58': ['the server had a system error', true],
  '28': ['the server refused the login', false],
  '3D': ['the database does not exist', false],
  '22': ['a value did not fit its column (a table made by hand?)', false],
  '23': ['a constraint of the table refused the row', false],
  '42': ['the server refused the statement (a table made by hand?)', false],
};
// Errors of pg and pg-pool that are not the server's: their messages are fixed texts.
const CLIENT_PROBLEMS: [RegExp, string, boolean][] = [
  [/^Connection terminated due to connection timeout/, 'no connection was made within the pool\'s connectionTimeoutMillis', true],
  [/^Connection terminated/, 'the connection was lost', true],
  [/^timeout exceeded when trying to connect/, 'the pool gave no connection within its connectionTimeoutMillis', true],
  [/^Cannot use a pool after calling end/, 'the pool was ended', false],
  [/^Client has encountered a connection error and is not queryable/, 'the connection was lost', true],
];

/**
 * The store's error for `cause`, which may be anything pg, pg-pool or the socket threw.
 * Only its SQLSTATE, its system error code (`ECONNREFUSED`) or a known fixed message is
 * read; nothing of it is kept.
 */
export function storeError(step: PostgresStoreStep, cause: unknown): PostgresStoreError {
  if (isPostgresStoreError(cause)) return cause;
  const fields = (typeof cause === 'object' && cause !== null ? cause : {}) as { code?: unknown; message?: unknown; severity?: unknown };
  const { code, message } = fields;
  // The server's errors carry a severity; a socket's `EPIPE` has five capitals as well.
  if (typeof fields.severity === 'string' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    const [problem, retryable] = BY_CODE[code] ?? BY_CLASS[code.slice(0, 2)] ?? ['the server answered with an error', false];
    return new PostgresStoreError(step, `${problem} (SQLSTATE ${code})`, { sqlState: code, retryable });
  }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return new PostgresStoreError(step, `could not reach the server (${code})`, { retryable: true });
  }
  const text = typeof message === 'string' ? message : '';
  const known = CLIENT_PROBLEMS.find(([pattern]) => pattern.test(text));
  if (known !== undefined) return new PostgresStoreError(step, known[1], { retryable: known[2] });
  const name = cause instanceof Error && /^\w{1,40}$/.test(cause.name) ? cause.name : typeof cause;
  return new PostgresStoreError(step, `an unexpected ${name} from pg`, { retryable: false });
}

/** A call did not settle within the store's `timeoutMs`. */
export function storeTimeoutError(step: PostgresStoreStep, timeoutMs: number): PostgresStoreError {
  return new PostgresStoreError(step, `no answer within ${timeoutMs} ms`, { retryable: true });
}

/** A call made after `close()`. */
export function storeClosedError(step: PostgresStoreStep): PostgresStoreError {
  return new PostgresStoreError(step, 'the store is closed', { retryable: false });
}

/** What the server returned is not what this store writes (a poisoned or hand-edited row). */
export function unusableRowError(step: PostgresStoreStep, what: string): PostgresStoreError {
  return new PostgresStoreError(step, `the table holds ${what} this store cannot use`, { retryable: false });
}
