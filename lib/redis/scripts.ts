import type { Redis } from 'ioredis';

/** Where one shared token lives in Redis. */
export interface SharedKeys {
  /** Holds the token as JSON (`{"value","expiresAt","issuedAt","type"}`), expiring with it. */
  tokenKey: string;
  /** Held (`SET NX PX`) by the one process that is calling the auth server. */
  lockKey: string;
  /** Where the holder announces a new token (the message carries no token). */
  channel: string;
}

/**
 * The key layout of a shared token: `<keyPrefix><key>`, `<keyPrefix><key>:lock` and the
 * channel `<keyPrefix><key>:updated`. On a Redis Cluster, put a hash tag in `key`
 * (`'{svc-token}'`) so that the token and its lock share a slot.
 */
export function sharedKeys(options: { key: string; keyPrefix?: string }): SharedKeys {
  const tokenKey = `${options.keyPrefix ?? ''}${options.key}`;
  return { tokenKey, lockKey: `${tokenKey}:lock`, channel: `${tokenKey}:updated` };
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
export async function readShared(client: Redis, keys: SharedKeys, maxBytes: number): Promise<SharedState> {
  const [raw, type, ttl] = (await client.eval(READ, 2, keys.tokenKey, keys.lockKey, maxBytes)) as [
    string | null,
    string,
    number,
  ];
  const lock: SharedState['lock'] =
    type === 'none'
      ? 'free'
      : type !== 'string'
        ? { unusable: `${keys.lockKey} holds a ${type}, not a lock` }
        : ttl < 0
          ? { unusable: `${keys.lockKey} has no expiry, so no process of the fleet holds it` }
          : 'held';
  return { raw, lock };
}

/**
 * Stores `json` under the token key for `ttlMs` (none: no expiry), announces it and
 * releases the lock, all only if `owner` still holds the lock.
 * @returns whether the token was written.
 */
export async function writeIfOwner(
  client: Redis,
  keys: SharedKeys,
  owner: string,
  json: string,
  ttlMs: number | undefined,
): Promise<boolean> {
  // Whole milliseconds, and no more than Redis can add to its clock (a token may expire
  // in the year 275760, or at 1e300): Redis keeps it that long, readers check expiresAt.
  const ttl = ttlMs === undefined ? '' : String(Math.min(Math.max(1, Math.ceil(ttlMs)), Number.MAX_SAFE_INTEGER));
  const written = await client.eval(WRITE_IF_OWNER, 2, keys.tokenKey, keys.lockKey, owner, json, ttl, keys.channel);
  return written === 1;
}

/** Deletes the lock if `owner` still holds it. */
export async function releaseIfOwner(client: Redis, keys: SharedKeys, owner: string): Promise<void> {
  await client.eval(RELEASE_IF_OWNER, 1, keys.lockKey, owner);
}
