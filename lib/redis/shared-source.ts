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
import { channelPattern, keysOf, redisKeyOf, type SharedKeys } from './keys.js';
import { Notifications } from './notifications.js';
import { callLimits, type CallLimits, type ResolvedOptions } from './options.js';
import { pause, whenAborted } from './pause.js';
import { ReplacedTokens } from './replaced-tokens.js';
import { readShared, releaseIfOwner, takeLock, writeIfOwner, type SharedState } from './scripts.js';
import { MAX_STORED_BYTES, parseStored, storedForm, type StoredToken } from './stored-token.js';
import { WaitingRoom } from './waiting-room.js';

const noop = (): void => {};

/**
 * One shared source: the calls of every key, over one command connection, one subscriber
 * connection and one waiting room (see {@link redisShared}, which wraps it).
 */
export class SharedSource {
  readonly #source: TokenSource;
  readonly #options: ResolvedOptions;
  readonly #scheduler: SchedulerLike;
  readonly #connection: RedisConnection;
  readonly #notifications: Notifications;
  readonly #waiting: WaitingRoom;
  // Aborted by close(): it ends every wait and every source call still running.
  readonly #closing = new AbortController();
  readonly #running = new Set<Promise<Token>>();
  readonly #replaced = new ReplacedTokens();
  #degraded = false;

  constructor(source: TokenSource, options: ResolvedOptions) {
    // Every call in flight listens to it, and removes its listener when it settles: many
    // calls at once are no leak, so Node's warning past ten would be a false alarm.
    setMaxListeners(0, this.#closing.signal);
    this.#source = source;
    this.#options = options;
    this.#scheduler = options.scheduler;
    this.#connection = new RedisConnection(
      options.redis,
      { commandMs: options.commandTimeoutMs, connectMs: options.connectTimeoutMs },
      options.scheduler,
    );
    const { key, keyPrefix } = options;
    this.#notifications = new Notifications(
      () => this.#connection.duplicate(),
      // A keyed source listens to every key with one pattern: its subscriptions do not grow
      // with the number of keys.
      typeof key === 'string' ? { channel: keysOf(keyPrefix, key).channel } : { pattern: channelPattern(keyPrefix) },
      options.commandTimeoutMs,
      options.scheduler,
    );
    this.#waiting = new WaitingRoom({
      read: (keys) => this.#read(keys, 'poll'),
      notifications: this.#notifications,
      pollMs: options.pollMs,
      scheduler: options.scheduler,
    });
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
    this.#waiting.close(this.#closing.signal.reason);
    // The calls that close() ends release their locks before the connection goes, so that
    // a process shutting down in the middle of a refresh lets another take over at once,
    // not lockTtlMs later. Each ends at once, but for its last command (commandTimeoutMs).
    await Promise.allSettled(this.#running);
    await Promise.all([this.#notifications.close(), this.#connection.close()]);
  }

  async #obtain(context: TokenSourceContext): Promise<Token> {
    if (this.#closing.signal.aborted) throw sharedSourceClosedError();
    const { pollMs, key, keyPrefix } = this.#options;
    const keys = keysOf(keyPrefix, redisKeyOf(key, context.key));
    if (context.previous !== undefined) this.#replaced.add(keys.tokenKey, context.previous.value);
    const signals = [context.signal, this.#closing.signal];
    const streamDeadline = this.#streamDeadline(context);
    const limits = callLimits(this.#options, streamDeadline - this.#scheduler.now());
    const { waitTimeoutMs } = limits;
    const deadline = Math.min(this.#scheduler.now() + waitTimeoutMs, streamDeadline);
    try {
      for (;;) {
        const roundAt = this.#scheduler.now();
        const { raw, lock } = await this.#read(keys, 'read');
        const stored = this.#usable(raw, keys);
        if (stored !== undefined) return this.#shared(stored.token, context);
        // A lock no process of the fleet wrote would never be released: waiting for it
        // would fail every demand, so the source is called directly, and that is reported.
        if (typeof lock === 'object') throw redisUnavailableError('lock', lock.unusable);
        const owner = randomUUID();
        if (lock === 'free' && (await this.#connection.send('lock', takeLock(keys, owner, limits.lockTtlMs)))) {
          // Another process may have stored a token and released its lock between our
          // read and our SET NX: look again before calling the auth server.
          const current = this.#usable((await this.#read(keys, 'read')).raw, keys);
          if (current === undefined) return await this.#refreshHolding(keys, owner, context, limits);
          await this.#release(keys, owner);
          return this.#shared(current.token, context);
        }
        const found = await this.#waiting.wait({
          keys,
          usable: (polled) => this.#usable(polled, keys),
          deadline,
          waitTimeoutMs,
          signal: context.signal,
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

  async #refreshHolding(keys: SharedKeys, owner: string, context: TokenSourceContext, limits: CallLimits): Promise<Token> {
    let token: Token;
    try {
      token = await this.#call(context, limits);
    } catch (error) {
      // Let a waiter take over now rather than when the lock expires.
      await this.#release(keys, owner);
      throw error;
    }
    try {
      const stored = storedForm(token, this.#scheduler.now());
      if (stored === undefined) {
        // Too large to share (or expired on arrival): store nothing, let another try.
        await this.#release(keys, owner);
        return token;
      }
      const written = await this.#connection.send('write', writeIfOwner(keys, owner, stored.json, stored.ttlMs));
      if (written) return this.#shared(token, context);
      // Our lock expired while we called the source, and the process that took over may
      // have stored a newer token: serve that one, so that the fleet converges on it.
      const newer = this.#usable((await this.#read(keys, 'read')).raw, keys);
      return this.#shared(newer?.token ?? token, context);
    } catch (error) {
      if (!isRedisUnavailableError(error)) throw error;
      // A write that failed half-way (a script stops at its first error) may have left the
      // lock: let another process take over now rather than lockTtlMs later.
      await this.#release(keys, owner);
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

  #read(keys: SharedKeys, step: string): Promise<SharedState> {
    return this.#connection.send(step, readShared(keys, MAX_STORED_BYTES));
  }

  /** Deletes our lock, if it is still ours; a failure only means waiters wait for its TTL. */
  #release(keys: SharedKeys, owner: string): Promise<void> {
    return this.#connection.send('release', releaseIfOwner(keys, owner)).catch(noop);
  }

  /**
   * The stored token, when it is one the stream accepts, not within its expiry margin (see
   * `expiryMargin`), and not one this process asked to replace: the caller's `previous`, or
   * an earlier one that Redis kept through an outage (see {@link ReplacedTokens}).
   */
  #usable(raw: string | null, keys: SharedKeys): StoredToken | undefined {
    const now = this.#scheduler.now();
    const stored = parseStored(raw, now);
    if (stored === undefined || now >= stored.servedUntil) return undefined;
    return this.#replaced.has(keys.tokenKey, stored.token.value) ? undefined : stored;
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
