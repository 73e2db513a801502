import type { Cluster, Redis } from 'ioredis';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import {
  checkPut,
  parseStoredCredential,
  type CredentialExpectation,
  type CredentialFailure,
  type CredentialStore,
  type RotatedCredential,
  type StoredCredential,
} from '../credential-store.js';
import { isScheduler, isTimerDelay, MAX_TIMER_MS, optionChecker } from '../options.js';
import { RedisConnection } from './connection.js';
import { CredentialNotices } from './credential-notices.js';
import {
  credentialKeys,
  credentialScripts,
  type CredentialKeys,
  type CredentialScripts,
  type Replicated,
  type Wait,
} from './credential-scripts.js';

/** How {@link redisCredentialStore} reaches Redis and protects what it writes. */
export interface RedisCredentialStoreOptions {
  /**
   * An ioredis client, or a `redis://` / `rediss://` URL. A client stays the caller's:
   * `close()` leaves it open. From a URL, the store opens (lazily) and owns its client.
   * A client may be Sentinel-managed (`new Redis({ sentinels, name })`) or an ioredis
   * `Cluster`: each script touches the two keys of one credential, which share a hash slot.
   */
  redis: Redis | Cluster | string;
  /**
   * Put in front of every key and of the channel, to keep them apart from other data.
   * @default 'credentials:'
   */
  keyPrefix?: string;
  /**
   * Turns the JSON that holds the refresh token and the access token into what Redis keeps
   * (for example AES-GCM with a key from your KMS), so that neither is readable in Redis.
   * Give `unseal` with it.
   * @default undefined (stored as JSON)
   */
  seal?: (plaintext: string) => string | Promise<string>;
  /**
   * The inverse of `seal`. A value it cannot open (another key, tampered with) counts as no
   * credential: `get` returns undefined, and `store.put` replaces it.
   * @default undefined
   */
  unseal?: (sealed: string) => string | Promise<string>;
  /**
   * How long one Redis command may take before it fails (and the caller's step with it).
   * @default 1_000
   */
  commandTimeoutMs?: number;
  /**
   * How long the first command waits for the connection.
   * @default 5_000
   */
  connectTimeoutMs?: number;
  /**
   * How many replicas must acknowledge each `put` and `save` (Redis `WAIT`) before the write
   * counts as replicated. A failover promotes a replica: a save only the old primary held
   * is lost with it, and the refresh token it replaced, already spent at the auth server, is
   * read again (a reuse). 0 sends no `WAIT`, as a standalone Redis has no replica to wait
   * for; give 1 with Sentinel or a Cluster. A write not acknowledged in time still counts as
   * done (the primary has it): `onUnreplicated` is told.
   * @default 0
   */
  replicas?: number;
  /**
   * How long a write waits for its replicas; less than `commandTimeoutMs`.
   * @default 250
   */
  replicaTimeoutMs?: number;
  /**
   * Called when a write was acknowledged by fewer than `replicas` replicas within
   * `replicaTimeoutMs`: until a replica has it, a failover may lose it. It is given the key
   * and the counts, never the credential. An error it throws is ignored.
   * @default undefined
   */
  onUnreplicated?: (report: { key: string; step: 'put' | 'save'; acknowledged: number; replicas: number }) => void;
  /**
   * The timer of command timeouts and of `changed`.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

/** A {@link CredentialStore} in Redis, with the means to close what it opened. */
export interface RedisCredentialStore extends CredentialStore {
  /** Where the credential of `key` lives. */
  keys(key: string): CredentialKeys;
  /** Resolves on a change notice for `key` (see {@link CredentialStore.changed}). */
  changed(key: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /** Closes the subscriber connection, and the client when it came from a URL. Idempotent. */
  close(): Promise<void>;
}

/**
 * The longest sealed value written or read, in bytes: a refresh token and an access token
 * fit many times over. A longer value under the key is not a credential of this store.
 */
const MAX_SECRET_BYTES = 128 * 1024;

const check = optionChecker('redisCredentialStore');
const identity = (text: string): string => text;

/**
 * A {@link CredentialStore} that a fleet of processes shares through Redis: every step (a
 * compare-and-set save, a lease with its fence, a failure mark) is one Lua script, and a
 * waiter learns of a change on one channel. What it reads is checked: a value that is not a
 * credential of this store counts as none, and never makes a step fail.
 *
 * Without persistence (`appendonly yes`), a Redis restart loses every refresh token in it.
 *
 * @throws {TypeError} naming a bad option.
 * @example
 * ```ts
 * const store = redisCredentialStore({ redis: 'redis://cache:6379', keyPrefix: 'creds:' })
 * await store.put('user-42', { refreshToken })
 * ```
 */
export function redisCredentialStore(options: RedisCredentialStoreOptions): RedisCredentialStore {
  check(typeof options === 'object' && options !== null, 'options', 'an object with `redis`');
  const { redis, keyPrefix = 'credentials:', seal, unseal, commandTimeoutMs = 1_000, connectTimeoutMs = 5_000, scheduler = asyncScheduler } = options;
  const { replicas = 0, replicaTimeoutMs = 250, onUnreplicated } = options;
  check(
    (typeof redis === 'string' && /^rediss?:\/\//.test(redis)) || (typeof redis === 'object' && redis !== null && typeof redis.duplicate === 'function'),
    'redis',
    'an ioredis client or a redis:// URL',
  );
  check(typeof keyPrefix === 'string', 'keyPrefix', 'a string');
  check((seal === undefined) === (unseal === undefined), 'seal', 'given together with `unseal`');
  check(seal === undefined || (typeof seal === 'function' && typeof unseal === 'function'), 'seal', 'a function, as `unseal` is');
  for (const [name, value] of [['commandTimeoutMs', commandTimeoutMs], ['connectTimeoutMs', connectTimeoutMs]] as const) {
    check(isTimerDelay(value) && value > 0, name, `a number from 1 to ${MAX_TIMER_MS}`);
  }
  check(isScheduler(scheduler), 'scheduler', 'an RxJS SchedulerLike');
  check(Number.isSafeInteger(replicas) && replicas >= 0, 'replicas', 'an integer >= 0');
  check(
    Number.isSafeInteger(replicaTimeoutMs) && replicaTimeoutMs > 0 && replicaTimeoutMs < commandTimeoutMs,
    'replicaTimeoutMs',
    `an integer > 0 and below commandTimeoutMs (${commandTimeoutMs}), which bounds the write and its WAIT together`,
  );
  check(onUnreplicated === undefined || typeof onUnreplicated === 'function', 'onUnreplicated', 'a function');
  const replication = { wait: { replicas, timeoutMs: replicaTimeoutMs }, onUnreplicated };
  return new RedisStore(redis, keyPrefix, { seal: seal ?? identity, unseal: unseal ?? identity }, { commandTimeoutMs, connectTimeoutMs, scheduler }, replication);
}

interface Sealing {
  seal: (plaintext: string) => string | Promise<string>;
  unseal: (sealed: string) => string | Promise<string>;
}

interface Replication {
  wait: Wait;
  onUnreplicated: RedisCredentialStoreOptions['onUnreplicated'];
}

class RedisStore implements RedisCredentialStore {
  readonly #replication: Replication;
  readonly #connection: RedisConnection;
  readonly #notices: CredentialNotices;
  readonly #scripts: CredentialScripts;
  readonly #keyPrefix: string;
  readonly #sealing: Sealing;

  constructor(
    redis: Redis | Cluster | string,
    keyPrefix: string,
    sealing: Sealing,
    { commandTimeoutMs, connectTimeoutMs, scheduler }: { commandTimeoutMs: number; connectTimeoutMs: number; scheduler: SchedulerLike },
    replication: Replication,
  ) {
    this.#replication = replication;
    this.#keyPrefix = keyPrefix;
    this.#sealing = sealing;
    this.#connection = new RedisConnection(redis, { commandMs: commandTimeoutMs, connectMs: connectTimeoutMs }, scheduler);
    const channel = `${keyPrefix}changed`;
    this.#scripts = credentialScripts(channel);
    this.#notices = new CredentialNotices(() => this.#connection.duplicate(), channel, commandTimeoutMs, scheduler);
  }

  keys(key: string): CredentialKeys {
    return credentialKeys(this.#keyPrefix, key);
  }

  async get(key: string): Promise<StoredCredential | undefined> {
    const raw = await this.#connection.run('get', (client) => this.#scripts.get(client, this.keys(key), MAX_SECRET_BYTES));
    if (raw === null) return undefined;
    const [version, secret, dead, refused = null] = raw;
    const opened = secret === null ? undefined : await this.#open(secret);
    if (opened === undefined) return undefined;
    return parseStoredCredential({
      // Only the form the scripts write: '01' would never equal it in a save's comparison.
      version: version !== null && /^[1-9]\d{0,14}$/.test(version) ? Number(version) : undefined,
      refreshToken: opened.refreshToken,
      accessToken: opened.accessToken,
      failure: dead !== null ? { reason: 'reauth-required' } : parseJson(refused),
    });
  }

  async put(key: string, credential: { refreshToken: string }): Promise<number> {
    checkPut('redisCredentialStore', key, credential);
    const secret = await this.#close({ refreshToken: credential.refreshToken });
    const written = await this.#connection.run('put', (client) => this.#scripts.put(client, this.keys(key), secret, key, this.#replication.wait));
    return this.#replicated(key, 'put', written);
  }

  async lease(key: string, ttlMs: number): Promise<number | undefined> {
    const fence = await this.#connection.run('lease', (client) => this.#scripts.lease(client, this.keys(key), ttlMs));
    return fence ?? undefined;
  }

  async release(key: string, fence: number): Promise<void> {
    await this.#connection.run('release', (client) => this.#scripts.release(client, this.keys(key), fence, key));
  }

  async save(key: string, expected: CredentialExpectation, next: RotatedCredential): Promise<boolean> {
    const secret = await this.#close(next);
    const { version, fence } = expected;
    const written = await this.#connection.run('save', (client) =>
      this.#scripts.save(client, this.keys(key), version, fence, secret, key, this.#replication.wait),
    );
    return written.value ? this.#replicated(key, 'save', written) : false;
  }

  async fail(key: string, expected: CredentialExpectation, failure: CredentialFailure): Promise<boolean> {
    const refused = failure.reason === 'refused' ? JSON.stringify(failure) : '';
    const { version, fence } = expected;
    return this.#connection.run('fail', (client) => this.#scripts.fail(client, this.keys(key), version, fence, refused, key));
  }

  changed(key: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return this.#notices.next(key, timeoutMs, signal);
  }

  async close(): Promise<void> {
    await Promise.all([this.#notices.close(), this.#connection.close()]);
  }

  /** The write's value, after telling `onUnreplicated` when too few replicas acknowledged it. */
  #replicated<T>(key: string, step: 'put' | 'save', { value, acknowledged }: Replicated<T>): T {
    const { wait, onUnreplicated } = this.#replication;
    if (acknowledged !== undefined && acknowledged < wait.replicas) {
      try {
        onUnreplicated?.({ key, step, acknowledged, replicas: wait.replicas });
      } catch {
        // A reporting hook must not turn a save the primary holds into a failed one.
      }
    }
    return value;
  }

  /**
   * The sealed form of what a rotation saves. An access token that would make it too long
   * to be read back is left out, rather than the refresh token with it.
   */
  async #close(credential: RotatedCredential): Promise<string> {
    const sealed = await this.#sealing.seal(JSON.stringify(credential));
    if (credential.accessToken === undefined || Buffer.byteLength(sealed) <= MAX_SECRET_BYTES) return sealed;
    return this.#sealing.seal(JSON.stringify({ refreshToken: credential.refreshToken }));
  }

  /** What a stored secret holds, or undefined when it cannot be opened or read. */
  async #open(secret: string): Promise<{ refreshToken?: unknown; accessToken?: unknown } | undefined> {
    let plaintext: string;
    try {
      plaintext = await this.#sealing.unseal(secret);
    } catch {
      // Another key, or a value tampered with: no credential, and no message quoting it.
      return undefined;
    }
    const opened = typeof plaintext === 'string' ? parseJson(plaintext) : undefined;
    return typeof opened === 'object' && opened !== null ? (opened as { refreshToken?: unknown; accessToken?: unknown }) : undefined;
  }
}

/** `text` parsed, or undefined: a parse error's message would quote what it read. */
function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
