/**
 * Where long-lived credentials (refresh tokens) live between rotations: the interface that
 * `refreshTokenGrant` needs of a store, and the rules of what a stored credential is, which
 * every store applies (`memoryCredentialStore`, `redisCredentialStore`, yours).
 */
import { isKey } from './options.js';
import { tokenProblem, type Token } from './token.js';

/** The longest refresh token a store takes: IdPs send a few hundred characters at most. */
const MAX_REFRESH_TOKEN_LENGTH = 16_384;

/** Why a credential stopped being usable. Only `store.put` (a new family) clears it. */
export type CredentialFailure =
  /** The IdP refused the refresh token itself (`invalid_grant`): the user must consent again. */
  | { reason: 'reauth-required' }
  /**
   * The IdP refused the client (`invalid_client`, `unauthorized_client`...). `client` is a
   * fingerprint of the client settings that got the answer: processes with other settings
   * (a new client secret) try again, the others do not.
   */
  | { reason: 'refused'; error: string; client: string };

/** A credential as a store holds it. */
export interface StoredCredential {
  /** The refresh token to present next. */
  readonly refreshToken: string;
  /** Grows by exactly 1 with each save and each `put`; a save must name the version it read. */
  readonly version: number;
  /** The access token the last rotation returned, shared with processes that did not rotate. */
  readonly accessToken?: Token;
  /** Set once the IdP refused this credential for good. */
  readonly failure?: CredentialFailure;
}

/** What a successful rotation saves. */
export interface RotatedCredential {
  refreshToken: string;
  accessToken?: Token;
}

/** The version a holder read and the fence of its lease: a save or a failure names both. */
export interface CredentialExpectation {
  version: number;
  fence: number;
}

/**
 * What `refreshTokenGrant` needs of a store, so that a fleet presents each refresh token
 * once. Implement it to keep credentials in your own database; every method is per key.
 *
 * - A version orders the credentials of a key: every save is a compare-and-set on the
 *   version the holder read, so that a holder that was paused can never overwrite a newer
 *   credential.
 * - A lease names the one process that may present the refresh token. It is a record with
 *   an expiry, not a lock or a transaction held open during the HTTP call, and each lease
 *   gets a fencing number greater than every earlier one of its key.
 * - Secrets are the store's to protect: never put them in an error message.
 */
export interface CredentialStore {
  /** The credential of `key`, or undefined when there is none (or what is stored is unusable). */
  get(key: string): Promise<StoredCredential | undefined>;
  /**
   * Starts a new family for `key` (after the user's consent): stores `refreshToken` with the
   * next version, and clears the shared access token and any failure.
   * @returns the new version.
   */
  put(key: string, credential: { refreshToken: string }): Promise<number>;
  /**
   * Takes the lease of `key` for `ttlMs`, unless a lease that has not expired is held.
   * @returns the new lease's fencing number, or undefined when another holds the lease.
   */
  lease(key: string, ttlMs: number): Promise<number | undefined>;
  /** Ends the lease `fence`, if it is still the one held. */
  release(key: string, fence: number): Promise<void>;
  /**
   * Saves a rotation and ends the lease `expected.fence`, as one step. It succeeds only if
   * the version is still `expected.version`, no lease was granted after `expected.fence`,
   * and the credential is not `reauth-required`; it then stores `next` with the version + 1
   * and clears a `refused` failure. The lease ends either way.
   * @returns whether it was saved.
   */
  save(key: string, expected: CredentialExpectation, next: RotatedCredential): Promise<boolean>;
  /**
   * Marks the credential failed and ends the lease `expected.fence`, as one step. It marks
   * only if the version is still `expected.version` and no `reauth-required` is set.
   * @returns whether this call set it: one process reports it, not each that saw it.
   */
  fail(key: string, expected: CredentialExpectation, failure: CredentialFailure): Promise<boolean>;
  /**
   * Resolves when the credential or the lease of `key` may have changed, after `timeoutMs`,
   * or when `signal` aborts, whichever comes first; a wake-up for nothing is harmless.
   * Optional: without it, waiters read again every `pollMs`.
   */
  changed?(key: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
}

/** Why `value` cannot be a stored refresh token (RFC 6749 A.17: 1*VSCHAR), or undefined. */
export function refreshTokenProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'a non-empty string';
  if (value.length > MAX_REFRESH_TOKEN_LENGTH) return `at most ${MAX_REFRESH_TOKEN_LENGTH} characters`;
  if (!/^[\x20-\x7e]+$/.test(value)) return 'printable ASCII (RFC 6749 A.17)';
  return undefined;
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * A frozen {@link StoredCredential} whose refresh token and access token stay out of
 * `JSON.stringify` and `util.inspect`, so that logging what `get` returned leaks neither.
 * A `reauth-required` credential holds no access token: the IdP revoked its family.
 */
export function storedCredential(fields: StoredCredential): StoredCredential {
  const { refreshToken, version, failure } = fields;
  const accessToken = failure?.reason === 'reauth-required' ? undefined : fields.accessToken;
  const shown = (): Record<string, unknown> => ({
    version,
    refreshToken: '[redacted]',
    ...(accessToken === undefined ? {} : { accessToken: '[redacted]' }),
    ...(failure === undefined ? {} : { failure }),
  });
  const credential = {
    refreshToken,
    version,
    ...(accessToken === undefined ? {} : { accessToken: Object.freeze({ ...accessToken }) }),
    ...(failure === undefined ? {} : { failure: Object.freeze({ ...failure }) }),
  };
  Object.defineProperties(credential, { toJSON: { value: shown }, [INSPECT]: { value: shown } });
  return Object.freeze(credential);
}

// RFC 6749 5.2's form of an error code.
const ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/;

/**
 * A stored credential from fields read back from outside this process (anyone may write to
 * a shared store), or undefined when they are not one: a version that is not a whole number
 * from 1, or a refresh token that {@link refreshTokenProblem} refuses. An access token that
 * `tokenProblem` refuses, or a failure of another shape, is left out.
 */
export function parseStoredCredential(fields: { version: unknown; refreshToken: unknown; accessToken?: unknown; failure?: unknown }): StoredCredential | undefined {
  const { version, refreshToken, accessToken, failure } = fields;
  if (!(Number.isSafeInteger(version) && (version as number) >= 1) || refreshTokenProblem(refreshToken) !== undefined) return undefined;
  return storedCredential({
    version: version as number,
    refreshToken: refreshToken as string,
    ...(accessToken !== undefined && tokenProblem(accessToken) === undefined ? { accessToken: accessToken as Token } : {}),
    ...(isFailure(failure) ? { failure } : {}),
  });
}

function isFailure(value: unknown): value is CredentialFailure {
  if (typeof value !== 'object' || value === null) return false;
  const { reason, error, client } = value as Record<string, unknown>;
  if (reason === 'reauth-required') return true;
  return reason === 'refused' && typeof error === 'string' && ERROR_CODE.test(error) && typeof client === 'string' && client.length <= 64;
}

/**
 * The checks of `put`'s arguments that every store makes, so that no store holds what `get`
 * would refuse. The message names the argument and the rule, never the value.
 * @throws {TypeError}
 */
export function checkPut(owner: string, key: unknown, credential: unknown): asserts credential is { refreshToken: string } {
  const fail = (rule: string): never => {
    throw new TypeError(`${owner}.put: ${rule}`);
  };
  if (!isKey(key)) fail('`key` must be a non-empty string without NUL or lone surrogates');
  if (typeof credential !== 'object' || credential === null) fail('`credential` must be an object with `refreshToken`');
  const problem = refreshTokenProblem((credential as { refreshToken?: unknown }).refreshToken);
  if (problem !== undefined) fail(`\`refreshToken\` must be ${problem}`);
}
