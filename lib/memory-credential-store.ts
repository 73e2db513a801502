/** {@link memoryCredentialStore}: the credential store of one process. */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import {
  checkPut,
  storedCredential,
  type CredentialExpectation,
  type CredentialFailure,
  type CredentialStore,
  type RotatedCredential,
  type StoredCredential,
} from './credential-store.js';
import { KeyWaiters } from './key-waiters.js';
import { isScheduler, optionChecker } from './options.js';

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
  readonly #waiters: KeyWaiters;

  constructor(scheduler: SchedulerLike) {
    this.#scheduler = scheduler;
    this.#waiters = new KeyWaiters(scheduler);
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
      entry.credential = storedCredential({ ...current, failure });
    }
    this.#end(key, expected.fence);
    if (marked) this.#notify(key);
    return marked;
  }

  changed(key: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return this.#waiters.wait(key, timeoutMs, signal);
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
    this.#waiters.wake(key);
  }
}
