// The public face of fleet mode: `redisShared` and the sources it returns.
import type { Token, TokenSource, TokenSourceContext } from '../token.js';
import { channelPattern, keysOf, redisKeyOf, type SharedKeyFunction, type SharedKeys } from './keys.js';
import { resolveOptions, type RedisSharedOptions } from './options.js';
import { SharedSource } from './shared-source.js';

/** What every shared source has: the means to close what it opened. */
interface Closable {
  /**
   * Ends the calls still running (each releases its lock first) and closes the subscriber
   * connection, and the client when it came from a URL (a client passed in stays open).
   * Calls ended by it, or made after it, reject with `ERR_TOKEN_CLOSED`. Idempotent.
   */
  close(): Promise<void>;
}

/** A {@link TokenSource} that shares one token through Redis (`key` is a string). */
export interface SharedTokenSource extends TokenSource, Closable {
  /** Where the token, the lock and the announcements live. */
  readonly keys: SharedKeys;
}

/**
 * A {@link TokenSource} that shares one token per stream key through Redis (`key` is a
 * function): for a `TokenStreams`, which calls it with `context.key`.
 */
export interface KeyedSharedTokenSource extends TokenSource, Closable {
  /** Where the token of `streamKey` lives (see `sharedKeys`). */
  keysFor(streamKey: string): SharedKeys;
  /** The one pattern its subscriber connection listens to, for every key. */
  readonly pattern: string;
}

/**
 * Wraps `source` so that a fleet of processes makes one auth call per token rotation:
 * the token lives in Redis, and only the process holding the lock calls `source`; the
 * others wait for its announcement (and poll, as pub/sub may lose it).
 *
 * While Redis is down or failing, or its lock key holds something no process of the fleet
 * wrote, `source` is called directly (each process still makes one call at a time), a
 * `redis-fallback` report appears on the stream's `events$`, and sharing resumes by itself
 * when Redis answers again (`redis-resumed`). A stored value the stream would refuse, or
 * one about to expire, counts as absent: the source is called and its token replaces it.
 *
 * With a function as `key`, one source shares a token per stream key: in a `TokenStreams`,
 * each key's calls map `context.key` to a Redis key of its own. Whatever the number of
 * keys, it holds one command connection and one subscriber connection with one pattern
 * subscription, and the commands of many keys sent at once go as one pipeline. A call
 * without `context.key` fails with a TypeError (`retryable: false`), as does a function
 * that returns no usable key.
 *
 * @throws {TypeError} when an option is missing or out of range; the message names it.
 * @example
 * ```ts
 * const source = redisShared(clientCredentials({ ... }), { redis: 'redis://cache:6379', key: 'orders-api-token' })
 * const tokens = new TokenStream({ source })
 * // on shutdown
 * tokens.close(); await source.close()
 *
 * const perTenant = redisShared(tenantSource, { redis: 'redis://cache:6379', key: (tenant) => `orders:${tenant}` })
 * const streams = new TokenStreams({ source: perTenant })
 * ```
 */
export function redisShared(source: TokenSource, options: RedisSharedOptions & { key: string }): SharedTokenSource;
export function redisShared(source: TokenSource, options: RedisSharedOptions & { key: SharedKeyFunction }): KeyedSharedTokenSource;
export function redisShared(source: TokenSource, options: RedisSharedOptions): SharedTokenSource | KeyedSharedTokenSource;
export function redisShared(source: TokenSource, options: RedisSharedOptions): SharedTokenSource | KeyedSharedTokenSource {
  if (typeof source !== 'function') {
    throw new TypeError('redisShared: `source` must be a function returning a promise or observable of a token');
  }
  const resolved = resolveOptions(options);
  const shared = new SharedSource(source, resolved);
  const obtain = (context: TokenSourceContext): Promise<Token> => shared.obtain(context);
  const close = (): Promise<void> => shared.close();
  const { key, keyPrefix } = resolved;
  return typeof key === 'string'
    ? Object.assign(obtain, { keys: keysOf(keyPrefix, key), close })
    : Object.assign(obtain, { keysFor: (streamKey: string) => keysOf(keyPrefix, redisKeyOf(key, streamKey)), pattern: channelPattern(keyPrefix), close });
}
