// Where a shared token lives in Redis: the names, and the rules a name must meet. In one
// place, so that every name a script touches is Redis Cluster-ready for every caller: the
// hash tag is derived here from the key, never left to the user.
import { isKey } from '../options.js';

/** A Redis key for a stream key: what `key` may be instead of a string. */
export type SharedKeyFunction = (streamKey: string) => string;

/** Where one shared token lives in Redis. */
export interface SharedKeys {
  /** Holds the token as JSON (`{"value","expiresAt","issuedAt","type"}`), expiring with it. */
  tokenKey: string;
  /** Held (`SET NX PX`) by the one process that is calling the auth server. */
  lockKey: string;
  /** Where the holder announces a new token (the message carries no token). */
  channel: string;
}

/** The longest key (`key`, or what its function returns) and `keyPrefix`, in characters. */
export const MAX_KEY_LENGTH = 512;

const LOCK = ':lock';
const UPDATED = ':updated';

/** What `key` must be, for a TypeError's message. */
export const KEY_RULE = `a non-empty string of at most ${MAX_KEY_LENGTH} characters without \`{\`, \`}\`, NUL or lone surrogates`;

// A brace would move the hash tag: Redis hashes what lies between the first `{` and the
// first `}` after it, so a key `a}b` would put its token and its lock in different slots,
// and a prefix `svc{x}:` would put every key in one slot.
const hasBrace = (text: string): boolean => text.includes('{') || text.includes('}');

/** Whether `key` can name a shared token (see {@link KEY_RULE}). */
export function isRedisKey(key: unknown): key is string {
  // isKey: a lone surrogate is stored as U+FFFD, so two keys would share one token.
  return isKey(key) && key.length <= MAX_KEY_LENGTH && !hasBrace(key);
}

/** Whether `prefix` can go in front of every name: a string without braces, bounded. */
export function isKeyPrefix(prefix: unknown): prefix is string {
  return typeof prefix === 'string' && prefix.length <= MAX_KEY_LENGTH && !hasBrace(prefix);
}

/**
 * The names of the token of Redis key `key`: `<keyPrefix>{<key>}`, then `:lock` and
 * `:updated` after it. The key is the hash tag, so on a Redis Cluster a token and its lock
 * share a slot (every script touches keys of one slot) and different keys spread over slots.
 */
export function keysOf(keyPrefix: string, key: string): SharedKeys {
  const tokenKey = `${keyPrefix}{${key}}`;
  return { tokenKey, lockKey: `${tokenKey}${LOCK}`, channel: `${tokenKey}${UPDATED}` };
}

/** The token key whose channel is `channel`, or undefined for a channel of no token. */
export function tokenKeyOf(channel: string): string | undefined {
  return channel.endsWith(UPDATED) ? channel.slice(0, -UPDATED.length) : undefined;
}

/** The one pattern that matches the channel of every key under `keyPrefix`. */
export function channelPattern(keyPrefix: string): string {
  // A prefix is taken literally: glob characters in it match only themselves.
  return `${keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}{*}${UPDATED}`;
}

function keyError(message: string): TypeError {
  // Not retryable: the same stream key gets the same answer on every attempt.
  return Object.assign(new TypeError(`redisShared: ${message}`), { retryable: false });
}

/**
 * The Redis key of `streamKey`: `key` itself, or what the function `key` returns for it,
 * checked on every call. The message names the rule, never the key (it may name a tenant).
 * @throws {TypeError} `retryable: false`, when a function `key` has no stream key to map,
 * or returns no usable Redis key.
 */
export function redisKeyOf(key: string | SharedKeyFunction, streamKey: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof streamKey !== 'string' || streamKey.length === 0) {
    throw keyError('option `key` is a function of the stream key, so each call needs `context.key`: use this source in a TokenStreams');
  }
  const redisKey = key(streamKey);
  if (!isRedisKey(redisKey)) throw keyError(`option \`key\` must return ${KEY_RULE}`);
  return redisKey;
}

/**
 * Where the token of `streamKey` lives for a shared source with these options: the names
 * `redisShared` uses, to inspect or clear them. `streamKey` is needed only when `key` is a
 * function.
 * @throws {TypeError} as `redisShared` would for these options, or for this stream key.
 * @example
 * ```ts
 * sharedKeys({ key: (tenant) => `orders:${tenant}`, keyPrefix: 'svc:' }, 'tenant-42')
 * // { tokenKey: 'svc:{orders:tenant-42}', lockKey: 'svc:{orders:tenant-42}:lock', channel: 'svc:{orders:tenant-42}:updated' }
 * ```
 */
export function sharedKeys(options: { key: string | SharedKeyFunction; keyPrefix?: string }, streamKey?: string): SharedKeys {
  const { key, keyPrefix = '' } = options;
  if (typeof key !== 'function' && !isRedisKey(key)) throw keyError(`option \`key\` must be ${KEY_RULE}, or a function`);
  if (!isKeyPrefix(keyPrefix)) throw keyError(`option \`keyPrefix\` must be a string of at most ${MAX_KEY_LENGTH} characters without \`{\` or \`}\``);
  return keysOf(keyPrefix, redisKeyOf(key, streamKey));
}
