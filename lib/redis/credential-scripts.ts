/**
 * The Redis side of `redisCredentialStore`: where a credential lives, and the Lua scripts
 * that make each step of the store one atomic step on the server.
 *
 * A credential is a hash: `version`, `secret` (the refresh token and the shared access token,
 * as JSON, sealed when the store seals), `fence` (the last lease's number), `dead` (set once
 * it is reauth-required) and `refused` (JSON: the error and the client fingerprint). Its lease
 * is a string holding the fence, with an expiry. Every key of another type is passed over as
 * unusable, never read with a command that would fail on it.
 */
import type { RedisClientLike as Redis } from './connection.js';

/** Where one credential lives. */
export interface CredentialKeys {
  /** The hash of the credential. */
  credential: string;
  /** The lease (`SET PX`) of the process presenting its refresh token. */
  lease: string;
}

/**
 * `<keyPrefix>{<key>}` and `<keyPrefix>{<key>}:lease`: the braces make them one hash slot on
 * a Redis Cluster, which a script that touches both needs.
 */
export function credentialKeys(keyPrefix: string, key: string): CredentialKeys {
  const credential = `${keyPrefix}{${key}}`;
  return { credential, lease: `${credential}:lease` };
}

// Ends the lease KEYS[2] if it still holds fence ARGV[2]; returns whether it did.
const END_LEASE = `
local function endLease()
  if redis.call('TYPE', KEYS[2]).ok == 'string' and redis.call('GET', KEYS[2]) == ARGV[2] then
    redis.call('DEL', KEYS[2])
    return true
  end
  return false
end`;

// KEYS: credential. ARGV: the longest secret read. A secret too large is not read (it would
// cross the network on every poll): the credential counts as unusable, as does a key of
// another type. A refused mark too large to be one is left out.
const GET = `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return false end
if redis.call('HSTRLEN', KEYS[1], 'secret') > tonumber(ARGV[1]) then return false end
local fields = redis.call('HMGET', KEYS[1], 'version', 'secret', 'dead')
if redis.call('HSTRLEN', KEYS[1], 'refused') <= 512 then fields[4] = redis.call('HGET', KEYS[1], 'refused') end
return fields`;

// KEYS: credential. ARGV: secret, channel, key. A new family: the next version, no failure.
// A version that is not a whole number (written by anyone else) starts over from 0.
const PUT = `
local version, fence = 0, 0
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'hash' then
  version = tonumber(redis.call('HGET', KEYS[1], 'version')) or 0
  fence = tonumber(redis.call('HGET', KEYS[1], 'fence')) or 0
end
if version ~= math.floor(version) or version < 0 then version = 0 end
if kind ~= 'none' then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'version', version + 1, 'secret', ARGV[1], 'fence', fence)
redis.call('PUBLISH', ARGV[2], ARGV[3])
return version + 1`;

// KEYS: credential, lease. ARGV: ttl ms. A lease key without expiry, or of another type, was
// not written by a store: it would never end, so it is taken over.
const LEASE = `
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'hash' and kind ~= 'none' then return false end
if redis.call('TYPE', KEYS[2]).ok == 'string' and redis.call('PTTL', KEYS[2]) >= 0 then return false end
local fence = (tonumber(redis.call('HGET', KEYS[1], 'fence')) or 0) + 1
redis.call('HSET', KEYS[1], 'fence', fence)
redis.call('SET', KEYS[2], fence, 'PX', ARGV[1])
return fence`;

// KEYS: credential, lease. ARGV: -, fence, channel, key.
const RELEASE = `${END_LEASE}
if endLease() then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return 1`;

// KEYS: credential, lease. ARGV: version, fence, channel, key, secret.
const SAVE = `${END_LEASE}
local saved = false
if redis.call('TYPE', KEYS[1]).ok == 'hash' then
  local now = redis.call('HMGET', KEYS[1], 'version', 'fence', 'dead')
  if now[1] == ARGV[1] and now[2] == ARGV[2] and not now[3] then
    redis.call('HSET', KEYS[1], 'version', tonumber(ARGV[1]) + 1, 'secret', ARGV[5])
    redis.call('HDEL', KEYS[1], 'refused')
    saved = true
  end
end
if endLease() or saved then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return saved and 1 or 0`;

// KEYS: credential, lease. ARGV: version, fence, channel, key, refused JSON ('' for dead).
const FAIL = `${END_LEASE}
local marked = false
if redis.call('TYPE', KEYS[1]).ok == 'hash' then
  local now = redis.call('HMGET', KEYS[1], 'version', 'dead')
  if now[1] == ARGV[1] and not now[2] then
    if ARGV[5] == '' then
      redis.call('HSET', KEYS[1], 'dead', '1')
      redis.call('HDEL', KEYS[1], 'refused')
    else
      redis.call('HSET', KEYS[1], 'refused', ARGV[5])
    end
    marked = true
  end
end
if endLease() or marked then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return marked and 1 or 0`;

/** What {@link readCredential} found: the raw fields, or null for a key that is no credential. */
export type RawCredential = [version: string | null, secret: string | null, dead: string | null, refused?: string | null] | null;

/** How many replicas must acknowledge a write (Redis `WAIT`), and for how long to wait; 0 skips it. */
export interface Wait {
  replicas: number;
  timeoutMs: number;
}

/** A write's reply, and how many replicas acknowledged it (undefined when not asked). */
export interface Replicated<T> {
  value: T;
  acknowledged: number | undefined;
}

type Eval = (script: string, ...args: (string | number)[]) => Promise<unknown>;

/**
 * Runs a script, then WAIT, in one pipeline: WAIT names no key, so that it goes to the node
 * of the script's keys, the one whose replicas must hold the write (on a Cluster too).
 */
async function evalWaited(client: Redis, wait: Wait, script: string, ...args: (string | number)[]): Promise<Replicated<unknown>> {
  if (wait.replicas === 0) return { value: await (client.eval as Eval).call(client, script, ...args), acknowledged: undefined };
  const pipeline = client.pipeline();
  (pipeline.eval as unknown as (...all: (string | number)[]) => unknown).call(pipeline, script, ...args);
  pipeline.call('WAIT', wait.replicas, wait.timeoutMs);
  const [written, waited] = ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
  if (written === undefined || written[0] !== null) throw written?.[0] ?? new Error('no reply');
  return { value: written[1], acknowledged: waited !== undefined && waited[0] === null ? Number(waited[1]) : 0 };
}

/** The scripts, bound to the keys of one store. */
export interface CredentialScripts {
  get(client: Redis, keys: CredentialKeys, maxSecretBytes: number): Promise<RawCredential>;
  put(client: Redis, keys: CredentialKeys, secret: string, key: string, wait: Wait): Promise<Replicated<number>>;
  lease(client: Redis, keys: CredentialKeys, ttlMs: number): Promise<number | null>;
  release(client: Redis, keys: CredentialKeys, fence: number, key: string): Promise<void>;
  save(client: Redis, keys: CredentialKeys, version: number, fence: number, secret: string, key: string, wait: Wait): Promise<Replicated<boolean>>;
  fail(client: Redis, keys: CredentialKeys, version: number, fence: number, refused: string, key: string): Promise<boolean>;
}

/** The scripts of a store whose change notices go to `channel` (the message is the key). */
export function credentialScripts(channel: string): CredentialScripts {
  const both = (keys: CredentialKeys): [2, string, string] => [2, keys.credential, keys.lease];
  return {
    get: async (client, keys, maxSecretBytes) => (await client.eval(GET, 1, keys.credential, maxSecretBytes)) as RawCredential,
    put: async (client, keys, secret, key, wait) => {
      const { value, acknowledged } = await evalWaited(client, wait, PUT, 1, keys.credential, secret, channel, key);
      return { value: Number(value), acknowledged };
    },
    lease: async (client, keys, ttlMs) => (await client.eval(LEASE, ...both(keys), Math.max(1, Math.ceil(ttlMs)))) as number | null,
    release: async (client, keys, fence, key) => {
      await client.eval(RELEASE, ...both(keys), '', fence, channel, key);
    },
    save: async (client, keys, version, fence, secret, key, wait) => {
      const { value, acknowledged } = await evalWaited(client, wait, SAVE, ...both(keys), version, fence, channel, key, secret);
      return { value: value === 1, acknowledged };
    },
    fail: async (client, keys, version, fence, refused, key) =>
      (await client.eval(FAIL, ...both(keys), version, fence, channel, key, refused)) === 1,
  };
}
