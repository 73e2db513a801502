import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { firstValueFrom, race, type SchedulerLike } from 'rxjs';
import {
  isRedisUnavailableError,
  redisUnavailableError,
  sharedSourceClosedError,
  sharedWaitTimeoutError,
} from '../errors.js';
import { callSource } from '../source-call.js';
import type { Token, TokenSource, TokenSourceContext } from '../token.js';
import { RedisConnection } from './connection.js';
import { Notifications } from './notifications.js';
import { callLimits, resolveOptions, type CallLimits, type RedisSharedOptions, type ResolvedOptions } from './options.js';
import { pause, whenAborted } from './pause.js';
import { readShared, releaseIfOwner, sharedKeys, writeIfOwner, type SharedKeys, type SharedState } from './scripts.js';
import { MAX_STORED_BYTES, parseStored, storedForm, type StoredToken } from './stored-token.js';
import { waitForHolder } from './wait.js';

/** A {@link TokenSource} shared through Redis, with the means to close what it opened. */
export interface SharedTokenSource extends TokenSource {
  /** Where the token, the lock and the announcements live. */
  readonly keys: SharedKeys;
  /**
   * Ends the calls still running (each releases its lock first) and closes the subscriber
   * connection, and the client when it came from a URL (a client passed in stays open).
   * Calls ended by it, or made after it, reject with `ERR_TOKEN_CLOSED`. Idempotent.
   */
  close(): Promise<void>;
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
 * @throws {TypeError} when an option is missing or out of range; the message names it.
 * @example
 * ```ts
 * const source = redisShared(clientCredentials({ ... }), { redis: 'redis://cache:6379', key: 'orders-api-token' })
 * const tokens = new TokenStream({ source })
 * // on shutdown
 * tokens.close(); await source.close()
 * ```
 */
export function redisShared(source: TokenSource, options: RedisSharedOptions): SharedTokenSource {
  if (typeof source !== 'function') {
    throw new TypeError('redisShared: `source` must be a function returning a promise or observable of a token');
  }
  const shared = new SharedSource(source, resolveOptions(options));
  return Object.assign((context: TokenSourceContext) => shared.obtain(context), {
    keys: shared.keys,
    close: () => shared.close(),
  });
}

const noop = (): void => {};

class SharedSource {
  readonly keys: SharedKeys;
  readonly #source: TokenSource;
  readonly #options: ResolvedOptions;
  readonly #scheduler: SchedulerLike;
  readonly #connection: RedisConnection;
  readonly #notifications: Notifications;
  // Aborted by close(): it ends every wait and every source call still running.
  readonly #closing = new AbortController();
  readonly #running = new Set<Promise<Token>>();
  #degraded = false;

  constructor(source: TokenSource, options: ResolvedOptions) {
    // Every call in flight listens to it, and removes its listener when it settles: many
    // calls at once are no leak, so Node's warning past ten would be a false alarm.
    setMaxListeners(0, this.#closing.signal);
    this.#source = source;
    this.#options = options;
    this.#scheduler = options.scheduler;
    this.keys = sharedKeys(options);
    this.#connection = new RedisConnection(
      options.redis,
      { commandMs: options.commandTimeoutMs, connectMs: options.connectTimeoutMs },
      options.scheduler,
    );
    this.#notifications = new Notifications(
      () => this.#connection.duplicate(),
      this.keys.channel,
      options.commandTimeoutMs,
      options.scheduler,
    );
  }

  obtain(context: TokenSourceContext): Promise<Token> {
    const running = this.#obtain(context);
    this.#running.add(running);
    const settled = (): void => {
      this.#running.delete(running);
    };
    running.then(settled, settled);
    return running;
  }

  async close(): Promise<void> {
    this.#closing.abort(sharedSourceClosedError());
    // The calls that close() ends release their locks before the connection goes, so that
    // a process shutting down in the middle of a refresh lets another take over at once,
    // not lockTtlMs later. Each ends at once, but for its last command (commandTimeoutMs).
    await Promise.allSettled(this.#running);
    await Promise.all([this.#notifications.close(), this.#connection.close()]);
  }

  async #obtain(context: TokenSourceContext): Promise<Token> {
    if (this.#closing.signal.aborted) throw sharedSourceClosedError();
    const { pollMs } = this.#options;
    const signals = [context.signal, this.#closing.signal];
    const streamDeadline = this.#streamDeadline(context);
    const limits = callLimits(this.#options, streamDeadline - this.#scheduler.now());
    const { waitTimeoutMs } = limits;
    const deadline = Math.min(this.#scheduler.now() + waitTimeoutMs, streamDeadline);
    try {
      for (;;) {
        const roundAt = this.#scheduler.now();
        const { raw, lock } = await this.#read('read');
        const stored = this.#usable(raw, context);
        if (stored !== undefined) return this.#shared(stored.token, context);
        // A lock no process of the fleet wrote would never be released: waiting for it
        // would fail every demand, so the source is called directly, and that is reported.
        if (typeof lock === 'object') throw redisUnavailableError('lock', lock.unusable);
        const owner = randomUUID();
        if (lock === 'free' && (await this.#lock(owner, limits.lockTtlMs))) {
          // Another process may have stored a token and released its lock between our
          // read and our SET NX: look again before calling the auth server.
          const current = this.#usable((await this.#read('read')).raw, context);
          if (current === undefined) return await this.#refreshHolding(owner, context, limits);
          await this.#release(owner);
          return this.#shared(current.token, context);
        }
        const found = await waitForHolder({
          read: () => this.#read('poll'),
          usable: (polled) => this.#usable(polled, context),
          notifications: this.#notifications,
          pollMs,
          deadline,
          waitTimeoutMs,
          scheduler: this.#scheduler,
          signals,
        });
        if (found !== undefined) return this.#shared(found.token, context);
        // No token and no lock: the holder failed or died, so race for the lock again; but
        // not sooner than pollMs after this round began, so that no state of Redis can turn
        // this loop into a busy one.
        const left = deadline - this.#scheduler.now();
        if (left <= 0) throw sharedWaitTimeoutError(waitTimeoutMs);
        const rest = Math.min(roundAt + pollMs - this.#scheduler.now(), left);
        if (rest > 0) await pause(rest, this.#scheduler, signals);
      }
    } catch (error) {
      if (this.#closing.signal.aborted) throw sharedSourceClosedError();
      if (!isRedisUnavailableError(error)) throw error;
      this.#fallBack(error, context);
      return this.#call(context, limits);
    }
  }

  async #refreshHolding(owner: string, context: TokenSourceContext, limits: CallLimits): Promise<Token> {
    let token: Token;
    try {
      token = await this.#call(context, limits);
    } catch (error) {
      // Let a waiter take over now rather than when the lock expires.
      await this.#release(owner);
      throw error;
    }
    try {
      const stored = storedForm(token, this.#scheduler.now());
      if (stored === undefined) {
        // Too large to share (or expired on arrival): store nothing, let another try.
        await this.#release(owner);
        return token;
      }
      const written = await this.#connection.run('write', (client) =>
        writeIfOwner(client, this.keys, owner, stored.json, stored.ttlMs),
      );
      if (written) return this.#shared(token, context);
      // Our lock expired while we called the source, and the process that took over may
      // have stored a newer token: serve that one, so that the fleet converges on it.
      const newer = this.#usable((await this.#read('read')).raw, context);
      return this.#shared(newer?.token ?? token, context);
    } catch (error) {
      if (!isRedisUnavailableError(error)) throw error;
      // A write that failed half-way (a script stops at its first error) may have left the
      // lock: let another process take over now rather than lockTtlMs later.
      await this.#release(owner);
      // The auth call is made: hand its token out, whatever became of Redis.
      this.#fallBack(error, context);
      return token;
    }
  }

  /**
   * Calls the wrapped source as the stream would (checked, within the call's source
   * timeout, which its lock outlives), and
   * ends it when the caller aborts or the shared source is closed: a source that ignores
   * its signal cannot keep a caller, or the lock, waiting.
   */
  #call(context: TokenSourceContext, { sourceTimeoutMs }: CallLimits): Promise<Token> {
    const { signal, ...rest } = context;
    const limits = { timeoutMs: sourceTimeoutMs, scheduler: this.#scheduler };
    // The abort first: a signal that has already aborted ends the call before the source runs.
    return firstValueFrom(race(whenAborted([signal, this.#closing.signal]), callSource(this.#source, rest, limits)));
  }

  /**
   * When the stream abandons this call (`context.deadline`): no wait or call here need
   * outlast it. Infinity when there is none, or when it is not ahead of this clock (a
   * stream on another clock, such as a virtual one: its own signal still ends the call).
   */
  #streamDeadline(context: TokenSourceContext): number {
    const { deadline } = context;
    return deadline !== undefined && deadline > this.#scheduler.now() ? deadline : Infinity;
  }

  #read(step: string): Promise<SharedState> {
    return this.#connection.run(step, (client) => readShared(client, this.keys, MAX_STORED_BYTES));
  }

  async #lock(owner: string, ttlMs: number): Promise<boolean> {
    const { lockKey } = this.keys;
    // PX takes whole milliseconds: a fraction would make Redis refuse every lock.
    const lockTtlMs = Math.ceil(ttlMs);
    return (await this.#connection.run('lock', (client) => client.set(lockKey, owner, 'PX', lockTtlMs, 'NX'))) === 'OK';
  }

  /** Deletes our lock, if it is still ours; a failure only means waiters wait for its TTL. */
  #release(owner: string): Promise<void> {
    return this.#connection.run('release', (client) => releaseIfOwner(client, this.keys, owner)).catch(noop);
  }

  /**
   * The stored token, when it is one the stream accepts, not within its expiry margin (see
   * `expiryMargin`), and not the token the caller is replacing.
   */
  #usable(raw: string | null, context: TokenSourceContext): StoredToken | undefined {
    const now = this.#scheduler.now();
    const stored = parseStored(raw, now);
    if (stored === undefined || now >= stored.servedUntil) return undefined;
    return stored.token.value === context.previous?.value ? undefined : stored;
  }

  #shared(token: Token, context: TokenSourceContext): Token {
    if (this.#degraded) {
      this.#degraded = false;
      context.report({ kind: 'redis-resumed' });
    }
    return token;
  }

  #fallBack(error: Error, context: TokenSourceContext): void {
    this.#degraded = true;
    context.report({ kind: 'redis-fallback', detail: error.message });
  }
}
