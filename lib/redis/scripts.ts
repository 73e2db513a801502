import type { SharedKeys } from './keys.js';

/**
 * One command of a shared source, as data: the connection sends the commands of one turn
 * of the event loop together (see `RedisConnection.send`). Each touches the names of one
 * token only, which share a hash tag, so that every command runs on one Redis Cluster slot.
 */
export interface RedisCommand<T> {
  /** The client method: a script (`eval`) or a plain `set`. */
  readonly name: 'eval' | 'set';
  readonly args: readonly (string | number)[];
  /** Reads the reply. */
  parse(reply: unknown): T;
}

// Writes the token only while the caller still owns the lock: a holder that outlived its
// lock (a long GC pause, a frozen VM) must not replace the newer token of the process that
// took over. The write, the announcement and the release happen as one step.
const WRITE_IF_OWNER = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
redis.call('PUBLISH', ARGV[4], '1')
redis.call('DEL', KEYS[2])
return 1`;

// The token and the state of the lock in one round trip. Keys of another type, or a value
// too large for a token, are passed over rather than read (GET would fail with WRONGTYPE,
// or carry megabytes on every poll): the token counts as absent, and the lock as a key the
// fleet did not write. PTTL tells a lock of the fleet (always set with PX) from one without
// expiry, which no process of the fleet would ever release.
const READ = `
local token = false
if redis.call('TYPE', KEYS[1]).ok == 'string' and redis.call('STRLEN', KEYS[1]) <= tonumber(ARGV[1]) then
  token = redis.call('GET', KEYS[1])
end
local lock = redis.call('TYPE', KEYS[2]).ok
local ttl = -2
if lock == 'string' then ttl = redis.call('PTTL', KEYS[2]) end
return {token, lock, ttl}`;

// A plain DEL could delete the lock another process took after ours expired.
const RELEASE_IF_OWNER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** What one read of the shared keys found. */
export interface SharedState {
  /** The stored JSON; null when absent, not a string, or longer than the limit read. */
  raw: string | null;
  /**
   * `free`, `held` (by a process of the fleet), or why the lock key cannot be a lock of the
   * fleet: a key of another type, or one without expiry, that no holder will ever release.
   */
  lock: 'free' | 'held' | { unusable: string };
}

/** Reads the stored token (when it is a string of at most `maxBytes`) and the lock's state. */
export function readShared(keys: SharedKeys, maxBytes: number): RedisCommand<SharedState> {
  return {
    name: 'eval',
    args: [READ, 2, keys.tokenKey, keys.lockKey, maxBytes],
    parse(reply) {
      const [raw, type, ttl] = reply as [string | null, string, number];
      const lock: SharedState['lock'] =
        type === 'none'
          ? 'free'
          : type !== 'string'
            ? { unusable: `${keys.lockKey} holds a ${type}, not a lock` }
            : ttl < 0
              ? { unusable: `${keys.lockKey} has no expiry, so no process of the fleet holds it` }
              : 'held';
      return { raw, lock };
    },
  };
}

/** Takes the lock for `ttlMs` if it is free. Its reply: whether `owner` now holds it. */
export function takeLock(keys: SharedKeys, owner: string, ttlMs: number): RedisCommand<boolean> {
  // PX takes whole milliseconds: a fraction would make Redis refuse every lock.
  return { name: 'set', args: [keys.lockKey, owner, 'PX', Math.ceil(ttlMs), 'NX'], parse: (reply) => reply === 'OK' };
}

/**
 * Stores `json` under the token key for `ttlMs` (none: no expiry), announces it and
 * releases the lock, all only if `owner` still holds the lock. Its reply: whether the token
 * was written.
 */
export function writeIfOwner(keys: SharedKeys, owner: string, json: string, ttlMs: number | undefined): RedisCommand<boolean> {
  // Whole milliseconds, and no more than Redis can add to its clock (a token may expire
  // in the year 275760, or at 1e300): Redis keeps it that long, readers check expiresAt.
  const ttl = ttlMs === undefined ? '' : String(Math.min(Math.max(1, Math.ceil(ttlMs)), Number.MAX_SAFE_INTEGER));
  return {
    name: 'eval',
    args: [WRITE_IF_OWNER, 2, keys.tokenKey, keys.lockKey, owner, json, ttl, keys.channel],
    parse: (reply) => reply === 1,
  };
}

/** Deletes the lock if `owner` still holds it. */
export function releaseIfOwner(keys: SharedKeys, owner: string): RedisCommand<void> {
  return { name: 'eval', args: [RELEASE_IF_OWNER, 1, keys.lockKey, owner], parse: () => undefined };
}
