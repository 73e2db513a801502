import { randomUUID } from 'node:crypto';
import { defer, firstValueFrom, type SchedulerLike } from 'rxjs';
import { TokenError, isExpired, type Token, type TokenSource, type TokenSourceContext } from '../index.js';
import { RedisConnection, RedisUnavailableError } from './connection.js';
import { Notifications } from './notifications.js';
import { resolveOptions, type RedisSharedOptions, type ResolvedOptions } from './options.js';
import { releaseIfOwner, sharedKeys, writeIfOwner, type SharedKeys } from './scripts.js';
import { storedForm, parseStored } from './stored-token.js';
import { waitForHolder } from './wait.js';

/** A {@link TokenSource} shared through Redis, with the means to close what it opened. */
export interface SharedTokenSource extends TokenSource {
  /** Where the token, the lock and the announcements live. */
  readonly keys: SharedKeys;
  /**
   * Closes the subscriber connection, and the client when it came from a URL (a client
   * passed in stays open). Calls made after it reject with `ERR_TOKEN_CLOSED`. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Wraps `source` so that a fleet of processes makes one auth call per token rotation:
 * the token lives in Redis, and only the process holding the lock calls `source`; the
 * others wait for its announcement (and poll, as pub/sub may lose it).
 *
 * While Redis is down or failing, `source` is called directly (each process still makes
 * one call at a time), a `redis-fallback` report appears on the stream's `events$`, and
 * sharing resumes by itself when Redis answers again (`redis-resumed`).
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
  #degraded = false;

  constructor(source: TokenSource, options: ResolvedOptions) {
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

  async obtain(context: TokenSourceContext): Promise<Token> {
    if (this.#closing.signal.aborted) throw closedError();
    const deadline = this.#scheduler.now() + this.#options.waitTimeoutMs;
    try {
      for (;;) {
        const stored = await this.#read();
        if (this.#usable(stored, context)) return this.#shared(stored, context);
        const owner = randomUUID();
        const { lockKey } = this.keys;
        const lockTtlMs = this.#options.lockTtlMs;
        const locked = await this.#connection.run('lock', (client) => client.set(lockKey, owner, 'PX', lockTtlMs, 'NX'));
        if (locked === 'OK') {
          // Another process may have stored a token and released its lock between our
          // read and our SET NX: look again before calling the auth server.
          const current = await this.#read();
          if (!this.#usable(current, context)) return await this.#refreshHolding(owner, context);
          await this.#connection.run('release', (client) => releaseIfOwner(client, this.keys, owner)).catch(noop);
          return this.#shared(current, context);
        }
        const found = await waitForHolder({
          read: () => this.#connection.run('poll', (client) => client.mget(this.keys.tokenKey, lockKey)),
          parse: parseStored,
          usable: (token) => this.#usable(token, context),
          notifications: this.#notifications,
          pollMs: this.#options.pollMs,
          deadline,
          waitTimeoutMs: this.#options.waitTimeoutMs,
          scheduler: this.#scheduler,
          signals: [context.signal, this.#closing.signal],
        });
        // No token and no lock: the holder failed or died. Race for the lock again.
        if (found !== undefined) return this.#shared(found, context);
      }
    } catch (error) {
      if (this.#closing.signal.aborted) throw closedError();
      if (!(error instanceof RedisUnavailableError)) throw error;
      this.#fallBack(error, context);
      return this.#call(context);
    }
  }

  async close(): Promise<void> {
    this.#closing.abort(closedError());
    await Promise.all([this.#notifications.close(), this.#connection.close()]);
  }

  async #refreshHolding(owner: string, context: TokenSourceContext): Promise<Token> {
    let token: Token;
    try {
      token = await this.#call(context);
    } catch (error) {
      // Let a waiter take over now rather than when the lock expires.
      await this.#connection.run('release', (client) => releaseIfOwner(client, this.keys, owner)).catch(noop);
      throw error;
    }
    try {
      const stored = storedForm(token, this.#scheduler.now());
      if (stored === undefined) {
        // Not a token that can be shared (the stream will reject it): store nothing.
        await this.#connection.run('release', (client) => releaseIfOwner(client, this.keys, owner));
        return token;
      }
      const written = await this.#connection.run('write', (client) =>
        writeIfOwner(client, this.keys, owner, stored.json, stored.ttlMs),
      );
      if (written) return this.#shared(token, context);
      // Our lock expired while we called the source, and the process that took over may
      // have stored a newer token: serve that one, so that the fleet converges on it.
      const newer = await this.#read();
      return this.#shared(this.#usable(newer, context) ? newer : token, context);
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      // The auth call is made: hand its token out, whatever became of Redis.
      this.#fallBack(error, context);
      return token;
    }
  }

  /** Calls the wrapped source, bounded by `sourceTimeoutMs` and ended by abort or close. */
  #call(context: TokenSourceContext): Promise<Token> {
    const { sourceTimeoutMs } = this.#options;
    const controller = new AbortController();
    const signals = [context.signal, this.#closing.signal];
    const onAbort = (event: Event): void => controller.abort((event.target as AbortSignal).reason);
    for (const signal of signals) {
      if (signal.aborted) controller.abort(signal.reason);
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    const timer = this.#scheduler.schedule(
      () => controller.abort(new TokenError('ERR_TOKEN_TIMEOUT', `Token source did not answer within ${sourceTimeoutMs} ms`)),
      sourceTimeoutMs,
    );
    const call = firstValueFrom(defer(() => this.#source({ ...context, signal: controller.signal })), {
      defaultValue: undefined,
    });
    const aborted = new Promise<never>((_, reject) => {
      const fail = (): void => reject(controller.signal.reason);
      if (controller.signal.aborted) fail();
      else controller.signal.addEventListener('abort', fail, { once: true });
    });
    // A source that ignores its signal cannot keep a caller (or the lock) waiting.
    aborted.catch(noop);
    return Promise.race([call, aborted])
      .then((token) => {
        if (token === undefined) {
          throw Object.assign(new TypeError('Token source completed without a token'), { retryable: false });
        }
        return token;
      })
      .finally(() => {
        timer.unsubscribe();
        for (const signal of signals) signal.removeEventListener('abort', onAbort);
      });
  }

  async #read(): Promise<Token | undefined> {
    const raw = await this.#connection.run('read', (client) => client.get(this.keys.tokenKey));
    return parseStored(raw);
  }

  /** Fresh, and not the token the caller is replacing. */
  #usable(token: Token | undefined, context: TokenSourceContext): token is Token {
    return token !== undefined && !isExpired(token, this.#scheduler.now()) && token.value !== context.previous?.value;
  }

  #shared(token: Token, context: TokenSourceContext): Token {
    if (this.#degraded) {
      this.#degraded = false;
      context.report({ kind: 'redis-resumed' });
    }
    return token;
  }

  #fallBack(error: RedisUnavailableError, context: TokenSourceContext): void {
    this.#degraded = true;
    context.report({ kind: 'redis-fallback', detail: error.message });
  }
}

function closedError(): TokenError {
  return Object.assign(new TokenError('ERR_TOKEN_CLOSED', 'The shared token source is closed'), { retryable: false });
}
