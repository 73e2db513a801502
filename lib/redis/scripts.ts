import type { Redis } from 'ioredis';

/** Where one shared token lives in Redis. */
export interface SharedKeys {
  /** Holds the token as JSON (`{"value","expiresAt","type"}`), expiring with it. */
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

// A plain DEL could delete the lock another process took after ours expired.
const RELEASE_IF_OWNER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

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
  const ttl = ttlMs === undefined ? '' : String(Math.max(1, Math.ceil(ttlMs)));
  const written = await client.eval(WRITE_IF_OWNER, 2, keys.tokenKey, keys.lockKey, owner, json, ttl, keys.channel);
  return written === 1;
}

/** Deletes the lock if `owner` still holds it. */
export async function releaseIfOwner(client: Redis, keys: SharedKeys, owner: string): Promise<void> {
  await client.eval(RELEASE_IF_OWNER, 1, keys.lockKey, owner);
}
