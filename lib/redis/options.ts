import type { Cluster, Redis } from 'ioredis';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import {
  checkOptionsObject,
  isPositiveFinite,
  isScheduler,
  isTimerDelay,
  MAX_TIMER_MS,
  optionChecker,
} from '../options.js';
import { isKeyPrefix, isRedisKey, KEY_RULE, MAX_KEY_LENGTH, type SharedKeyFunction } from './keys.js';

/** How {@link redisShared} shares tokens between processes. `redis` and `key` are required. */
export interface RedisSharedOptions {
  /**
   * An ioredis client, or a `redis://` / `rediss://` URL. A client stays the caller's:
   * `close()` leaves it open. From a URL, the shared source opens (lazily) and owns its
   * client, set up to fail fast while Redis is down, and `close()` quits it.
   *
   * A client may be Sentinel-managed (`new Redis({ sentinels, name })`): while no primary
   * answers, calls fall back to the wrapped source. It may be an ioredis `Cluster`: every
   * command touches the names of one key, which share a hash slot, and the announcements
   * reach the one subscriber connection from any node.
   */
  redis: Redis | Cluster | string;
  /**
   * Which token is shared: processes that share a token share a key. A string shares one
   * token, whatever the stream key. A function maps the stream key (`context.key`, set by
   * `TokenStreams`) to a key of its own, so that one source serves every tenant:
   * `(tenant) => \`orders:${tenant}\``. Either way the key is at most 512 characters, without
   * `{` or `}`: it becomes the Redis Cluster hash tag of its names (see `sharedKeys`).
   */
  key: string | SharedKeyFunction;
  /**
   * Put in front of every key and channel this source uses, to keep them apart from
   * other data on the same Redis. Without `{` or `}`: the hash tag is the key's.
   * @default ''
   */
  keyPrefix?: string;
  /**
   * The longest the wrapped source may run: the source is aborted after that, so that a
   * process never calls the auth server without holding the lock.
   * @default what is left of the stream's own attempt (`context.deadline`, from the
   * stream's `timeoutMs`), or 10_000 for a call without a deadline
   */
  sourceTimeoutMs?: number;
  /**
   * How long the lock of the process that refreshes lives. It must be longer than
   * `sourceTimeoutMs`: a holder whose lock expires in the middle of its call lets a
   * second process call the auth server. It is also how long the others wait before they
   * take over from a holder that died.
   * @default the call's source timeout * 1.5
   */
  lockTtlMs?: number;
  /**
   * How long one call waits for another process's refresh before it fails with a
   * retryable `ERR_TOKEN_TIMEOUT`. It never outlasts the stream's own attempt.
   * @default the call's lock TTL * 2
   */
  waitTimeoutMs?: number;
  /**
   * How often a waiting process re-reads the key. Pub/sub delivers at most once, so a
   * lost message costs at most this much delay. It also paces every other retry: after
   * an announcement that brought no token, a waiter ignores announcements until its next
   * timed read, and a process that found the lock gone without a token races for it
   * again no sooner than `pollMs` after its previous try.
   * @default 250
   */
  pollMs?: number;
  /**
   * How long one Redis command may take before Redis counts as down for this call (and
   * the wrapped source is called directly).
   * @default 1_000
   */
  commandTimeoutMs?: number;
  /**
   * How long a call waits for the first connection to Redis before it falls back. Only
   * the first: once connected, a call made while the client reconnects falls back at once.
   * @default 5_000
   */
  connectTimeoutMs?: number;
  /**
   * The timer of every delay and the clock of every expiry check. Tokens carry
   * `expiresAt` in epoch ms and are read by other processes, so its clock must be the
   * wall clock (as `asyncScheduler`'s `Date.now()` is), kept in sync across hosts.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

type PerCall = 'sourceTimeoutMs' | 'lockTtlMs' | 'waitTimeoutMs';

/**
 * The options with every default filled in, but for the bounds of a call, which come from
 * each call's deadline unless given (see {@link callLimits}).
 */
export interface ResolvedOptions extends Required<Omit<RedisSharedOptions, 'redis' | PerCall>> {
  redis: Redis | Cluster | string;
  sourceTimeoutMs: number | undefined;
  lockTtlMs: number | undefined;
  waitTimeoutMs: number | undefined;
}

/** The bounds of one call. */
export type CallLimits = Required<Pick<RedisSharedOptions, PerCall>>;

/** A call without a deadline of its own (a source called outside a stream) gets this long. */
const DEFAULT_SOURCE_TIMEOUT_MS = 10_000;

/**
 * The bounds of one call: each option as given, or else derived from what is left of the
 * stream's attempt, so that the stream's `timeoutMs` never has to be copied here. The lock
 * always outlives the source call (1.5 times as long), so that no second process calls the
 * auth server while the first still may.
 * @param streamLeftMs how long the stream still waits for this call; Infinity if unknown.
 */
export function callLimits(options: ResolvedOptions, streamLeftMs: number): CallLimits {
  const fromStream = Number.isFinite(streamLeftMs) ? Math.max(1, Math.ceil(streamLeftMs)) : DEFAULT_SOURCE_TIMEOUT_MS;
  const sourceTimeoutMs =
    options.sourceTimeoutMs ?? (options.lockTtlMs === undefined ? fromStream : Math.min(fromStream, Math.floor(options.lockTtlMs / 1.5)));
  const lockTtlMs = options.lockTtlMs ?? Math.ceil(sourceTimeoutMs * 1.5);
  return { sourceTimeoutMs, lockTtlMs, waitTimeoutMs: options.waitTimeoutMs ?? lockTtlMs * 2 };
}

const check = optionChecker('redisShared');

// A timer given a longer delay fires at once: a generous timeout would fail every call.
const isTimer = (value: unknown): value is number => isTimerDelay(value) && value > 0;
const TIMER_RULE = `a finite number > 0 and at most ${MAX_TIMER_MS} (the longest timer)`;

/**
 * Checks the options and fills in the defaults.
 * @throws {TypeError} naming the first bad option.
 */
export function resolveOptions(options: RedisSharedOptions): ResolvedOptions {
  checkOptionsObject(check, options, 'redis, key');
  const {
    redis,
    key,
    keyPrefix = '',
    sourceTimeoutMs,
    lockTtlMs,
    waitTimeoutMs,
    pollMs = 250,
    commandTimeoutMs = 1_000,
    connectTimeoutMs = 5_000,
  } = options;
  check(
    (typeof redis === 'string' && /^rediss?:\/\//.test(redis)) ||
      (typeof redis === 'object' && redis !== null && typeof redis.duplicate === 'function'),
    'redis',
    'an ioredis client or a redis:// URL',
  );
  check(typeof key === 'function' || isRedisKey(key), 'key', `${KEY_RULE}, or a function of the stream key returning one`);
  check(isKeyPrefix(keyPrefix), 'keyPrefix', `a string of at most ${MAX_KEY_LENGTH} characters without \`{\` or \`}\``);
  check(sourceTimeoutMs === undefined || isTimer(sourceTimeoutMs), 'sourceTimeoutMs', TIMER_RULE);
  check(lockTtlMs === undefined || isPositiveFinite(lockTtlMs), 'lockTtlMs', 'a finite number > 0');
  check(
    lockTtlMs === undefined || lockTtlMs > (sourceTimeoutMs ?? 0),
    'lockTtlMs',
    `longer than sourceTimeoutMs (${sourceTimeoutMs}), or a holder's lock could expire in the ` +
      'middle of its call and let a second process call the auth server',
  );
  check(lockTtlMs === undefined || sourceTimeoutMs !== undefined || lockTtlMs >= 2, 'lockTtlMs', 'at least 2');
  const { scheduler = asyncScheduler } = options;
  check(waitTimeoutMs === undefined || isPositiveFinite(waitTimeoutMs), 'waitTimeoutMs', 'a finite number > 0');
  check(isTimer(pollMs), 'pollMs', TIMER_RULE);
  check(isTimer(commandTimeoutMs), 'commandTimeoutMs', TIMER_RULE);
  check(isTimer(connectTimeoutMs), 'connectTimeoutMs', TIMER_RULE);
  check(isScheduler(scheduler), 'scheduler', 'an RxJS SchedulerLike');
  return {
    redis,
    key,
    keyPrefix,
    sourceTimeoutMs,
    lockTtlMs,
    waitTimeoutMs,
    pollMs,
    commandTimeoutMs,
    connectTimeoutMs,
    scheduler,
  };
}
