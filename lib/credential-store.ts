/**
 * Where long-lived credentials (refresh tokens) live between rotations: the interface that
 * `refreshTokenGrant` needs of a store, the rules of what a stored credential is, and
 * {@link memoryCredentialStore} for one process.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { isNonEmptyString, isScheduler, optionChecker } from './options.js';
import type { Token } from './token.js';

/** The longest refresh token a store takes: IdPs send a few hundred characters at most. */
export const MAX_REFRESH_TOKEN_LENGTH = 16_384;

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
 */
export function storedCredential(fields: StoredCredential): StoredCredential {
  const { refreshToken, version, accessToken, failure } = fields;
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

/**
 * The checks of `put`'s arguments that every store makes, so that no store holds what `get`
 * would refuse. The message names the argument and the rule, never the value.
 * @throws {TypeError}
 */
export function checkPut(owner: string, key: unknown, credential: unknown): asserts credential is { refreshToken: string } {
  const fail = (rule: string): never => {
    throw new TypeError(`${owner}.put: ${rule}`);
  };
  if (!isNonEmptyString(key)) fail('`key` must be a non-empty string');
  if (typeof credential !== 'object' || credential === null) fail('`credential` must be an object with `refreshToken`');
  const problem = refreshTokenProblem((credential as { refreshToken?: unknown }).refreshToken);
  if (problem !== undefined) fail(`\`refreshToken\` must be ${problem}`);
}

/** How {@link memoryCredentialStore} is set up. */
export interface MemoryCredentialStoreOptions {
  /**
   * The clock of lease expiry and the timer of `changed`. Pass the streams' scheduler.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

interface Entry {
  credential: StoredCredential | undefined;
  /** The fencing number of the last lease granted. */
  fence: number;
  lease: { fence: number; until: number } | undefined;
}

/**
 * A {@link CredentialStore} in this process's memory: for one process, or for specs. A
 * restart loses every refresh token in it.
 *
 * @throws {TypeError} naming a bad option.
 */
export function memoryCredentialStore(options: MemoryCredentialStoreOptions = {}): CredentialStore {
  const check = optionChecker('memoryCredentialStore');
  check(typeof options === 'object' && options !== null, 'options', 'an object');
  const { scheduler = asyncScheduler } = options;
  check(isScheduler(scheduler), 'scheduler', 'an RxJS SchedulerLike');
  return new MemoryStore(scheduler);
}

class MemoryStore implements CredentialStore {
  readonly #scheduler: SchedulerLike;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Map<string, Set<() => void>>();

  constructor(scheduler: SchedulerLike) {
    this.#scheduler = scheduler;
  }

  async get(key: string): Promise<StoredCredential | undefined> {
    return this.#entries.get(key)?.credential;
  }

  async put(key: string, credential: { refreshToken: string }): Promise<number> {
    checkPut('memoryCredentialStore', key, credential);
    const entry = this.#entry(key);
    const version = (entry.credential?.version ?? 0) + 1;
    entry.credential = storedCredential({ refreshToken: credential.refreshToken, version });
    this.#notify(key);
    return version;
  }

  async lease(key: string, ttlMs: number): Promise<number | undefined> {
    const entry = this.#entry(key);
    const now = this.#scheduler.now();
    if (entry.lease !== undefined && entry.lease.until > now) return undefined;
    entry.fence += 1;
    entry.lease = { fence: entry.fence, until: now + ttlMs };
    return entry.fence;
  }

  async release(key: string, fence: number): Promise<void> {
    this.#end(key, fence);
  }

  async save(key: string, expected: CredentialExpectation, next: RotatedCredential): Promise<boolean> {
    const entry = this.#entry(key);
    const current = entry.credential;
    const saved =
      current !== undefined &&
      current.version === expected.version &&
      entry.fence === expected.fence &&
      current.failure?.reason !== 'reauth-required';
    if (saved) {
      entry.credential = storedCredential({
        refreshToken: next.refreshToken,
        version: current.version + 1,
        ...(next.accessToken === undefined ? {} : { accessToken: next.accessToken }),
      });
    }
    this.#end(key, expected.fence);
    if (saved) this.#notify(key);
    return saved;
  }

  async fail(key: string, expected: CredentialExpectation, failure: CredentialFailure): Promise<boolean> {
    const entry = this.#entry(key);
    const current = entry.credential;
    const marked = current !== undefined && current.version === expected.version && current.failure?.reason !== 'reauth-required';
    if (marked) {
      const { refreshToken, version, accessToken } = current;
      // A refused credential keeps its access token until it expires; a dead family's is revoked.
      const kept = failure.reason === 'refused' && accessToken !== undefined ? { accessToken } : {};
      entry.credential = storedCredential({ refreshToken, version, ...kept, failure });
    }
    this.#end(key, expected.fence);
    if (marked) this.#notify(key);
    return marked;
  }

  changed(key: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const listeners = this.#listeners.get(key) ?? new Set<() => void>();
      this.#listeners.set(key, listeners);
      const done = (): void => {
        timer.unsubscribe();
        signal.removeEventListener('abort', done);
        listeners.delete(done);
        if (listeners.size === 0 && this.#listeners.get(key) === listeners) this.#listeners.delete(key);
        resolve();
      };
      const timer = this.#scheduler.schedule(done, timeoutMs);
      if (signal.aborted) return done();
      signal.addEventListener('abort', done, { once: true });
      listeners.add(done);
    });
  }

  #entry(key: string): Entry {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { credential: undefined, fence: 0, lease: undefined };
      this.#entries.set(key, entry);
    }
    return entry;
  }

  #end(key: string, fence: number): void {
    const entry = this.#entries.get(key);
    if (entry?.lease?.fence !== fence) return;
    entry.lease = undefined;
    this.#notify(key);
  }

  #notify(key: string): void {
    for (const wake of [...(this.#listeners.get(key) ?? [])]) wake();
  }
}
