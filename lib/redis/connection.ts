import { Redis } from 'ioredis';
import type { SchedulerLike } from 'rxjs';

/**
 * Redis could not be used for one step. Internal: it never reaches a caller, it makes the
 * shared source call the wrapped source directly. Its message names the step and the
 * client's complaint, never a key's content.
 */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError' as const;

  constructor(step: string, problem: unknown) {
    super(`${step}: ${describeProblem(problem)}`);
  }
}

// Redis errors name hosts and commands, not values; still, a URL in one may carry a password.
function describeProblem(problem: unknown): string {
  const text = problem instanceof Error ? problem.message : String(problem);
  return text.replace(/\/\/[^@/\s]*@/g, '//***@').slice(0, 200);
}

const noop = (): void => {};

/** Settles like `promise`, or rejects after `ms` on `scheduler`, whichever comes first. */
export function within<T>(promise: Promise<T>, ms: number, scheduler: SchedulerLike): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = scheduler.schedule(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        timer.unsubscribe();
        resolve(value);
      },
      (error: unknown) => {
        timer.unsubscribe();
        reject(error);
      },
    );
  });
}

/**
 * The command connection of one shared source: the caller's client, or one opened from a
 * URL and owned here. Every command is bounded in time, and fails at once while the client
 * is reconnecting, so that a Redis outage costs a fallback, never a stuck request.
 */
export class RedisConnection {
  /** The command client. */
  readonly client: Redis;
  /** Whether `client` was opened here (from a URL) and is quit by {@link close}. */
  readonly owned: boolean;
  readonly #timeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #scheduler: SchedulerLike;
  #seenReady = false;
  #closed = false;

  constructor(redis: Redis | string, timeouts: { commandMs: number; connectMs: number }, scheduler: SchedulerLike) {
    const timeoutMs = timeouts.commandMs;
    this.#timeoutMs = timeoutMs;
    this.#connectTimeoutMs = timeouts.connectMs;
    this.#scheduler = scheduler;
    this.owned = typeof redis === 'string';
    this.client =
      typeof redis === 'string'
        ? new Redis(redis, {
            // Connect on first use: a source that is never called holds no socket.
            lazyConnect: true,
            // While disconnected, commands fail at once instead of queueing until Redis is
            // back: the call falls back to the wrapped source without waiting.
            enableOfflineQueue: false,
            // A command in flight when the connection drops fails instead of being resent
            // after a reconnect, when its answer would no longer matter.
            maxRetriesPerRequest: 0,
            // A server that accepts the connection but does not answer (paused, overloaded).
            commandTimeout: timeoutMs,
            connectTimeout: timeouts.connectMs,
          })
        : redis;
    // ioredis prints an error that has no listener; an outage is reported as a fallback.
    if (this.owned) this.client.on('error', noop);
  }

  /**
   * Runs one step against Redis.
   * @throws {RedisUnavailableError} when Redis is down, slow or answers with an error.
   */
  async run<T>(step: string, command: (client: Redis) => Promise<T>): Promise<T> {
    try {
      await this.#ready();
      return await within(command(this.client), this.#timeoutMs, this.#scheduler);
    } catch (error) {
      throw error instanceof RedisUnavailableError ? error : new RedisUnavailableError(step, error);
    }
  }

  /** A new connection with the same settings, for subscriber mode. */
  duplicate(): Redis {
    const subscriber = this.client.duplicate({
      lazyConnect: true,
      // SUBSCRIBE is the only command it sends: it may wait for the connection, and is
      // dropped (not queued forever) after one failed reconnection.
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0,
      autoResubscribe: true,
    });
    subscriber.on('error', noop);
    return subscriber;
  }

  /** Quits the client if it is owned here. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.owned) await quit(this.client, this.#timeoutMs, this.#scheduler);
  }

  // Waiting for the first connection avoids a fleet-wide fallback at start-up; once the
  // client has been ready, any other state means an outage, and waiting would only delay
  // the fallback.
  async #ready(): Promise<void> {
    if (this.#closed) throw new RedisUnavailableError('connect', 'closed');
    const { client } = this;
    if (client.status === 'ready') {
      this.#seenReady = true;
      return;
    }
    if (this.#seenReady || !['wait', 'connecting', 'connect'].includes(client.status)) {
      throw new RedisUnavailableError('connect', `client is ${client.status}`);
    }
    if (client.status === 'wait') client.connect().catch(noop);
    await within(onceReady(client), this.#connectTimeoutMs, this.#scheduler).catch((error: unknown) => {
      throw new RedisUnavailableError('connect', error);
    });
    this.#seenReady = true;
  }
}

function onceReady(client: Redis): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: Error): void => {
      client.off('ready', onReady).off('error', onError).off('close', onClose).off('end', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = (): void => settle();
    const onError = (error: Error): void => settle(error);
    const onClose = (): void => settle(new Error('connection closed'));
    client.once('ready', onReady).once('error', onError).once('close', onClose).once('end', onClose);
  });
}

/** Quits `client` politely when it is connected, and closes its socket in any case. */
export async function quit(client: Redis, timeoutMs: number, scheduler: SchedulerLike): Promise<void> {
  // QUIT on a lazy client that never connected would connect first, only to quit.
  if (client.status === 'ready') await within(client.quit(), timeoutMs, scheduler).catch(noop);
  client.disconnect();
}
