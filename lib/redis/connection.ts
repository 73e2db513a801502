import type { Cluster, Redis } from 'ioredis';
import { firstValueFrom, from, throwError, timeout, type SchedulerLike } from 'rxjs';
import { isRedisUnavailableError, redisUnavailableError } from '../errors.js';
import { Redis as RedisClient } from './ioredis.js';
import type { RedisCommand } from './scripts.js';

const noop = (): void => {};

/** A command waiting for the end of the turn, and the call that waits for its reply. */
interface Queued {
  step: string;
  command: RedisCommand<unknown>;
  resolve: (reply: unknown) => void;
  reject: (error: unknown) => void;
}

type Method = (...args: (string | number)[]) => unknown;

/** What every Redis part accepts: a client (standalone or Sentinel-managed) or a Cluster. */
export type RedisClientLike = Redis | Cluster;

/** Whether `client` is an ioredis Cluster (ioredis marks both kinds). */
export const isCluster = (client: RedisClientLike): client is Cluster => client.isCluster;

/** Calls the client method of `command` (through the client, so that a wrapper sees it). */
function invoke(client: RedisClientLike, command: RedisCommand<unknown>): Promise<unknown> {
  return (client[command.name] as Method).apply(client, [...command.args]) as Promise<unknown>;
}

/** Sends `queue` as one pipeline; a pipeline that fails as a whole fails each command. */
async function pipelined(client: Redis, queue: Queued[]): Promise<[Error | null, unknown][]> {
  const pipeline = client.pipeline();
  for (const { command } of queue) (pipeline[command.name] as Method).apply(pipeline, [...command.args]);
  return ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
}

/**
 * Settles like `promise`, or rejects after `ms` on `scheduler` with a `redisUnavailableError`
 * for `step`, whichever comes first.
 */
export function within<T>(promise: Promise<T>, ms: number, scheduler: SchedulerLike, step: string): Promise<T> {
  return firstValueFrom(
    from(promise).pipe(
      timeout({ first: ms, scheduler, with: () => throwError(() => redisUnavailableError(step, `no answer within ${ms} ms`)) }),
    ),
  );
}

/**
 * The command connection of one shared source: the caller's client, or one opened from a
 * URL and owned here. Every command is bounded in time, and fails at once while the client
 * is reconnecting, so that a Redis outage costs a fallback, never a stuck request.
 */
export class RedisConnection {
  /** The command client. */
  readonly client: RedisClientLike;
  /** Whether `client` was opened here (from a URL) and is quit by {@link close}. */
  readonly owned: boolean;
  readonly #timeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #scheduler: SchedulerLike;
  readonly #queue: Queued[] = [];
  #seenReady = false;
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(redis: RedisClientLike | string, timeouts: { commandMs: number; connectMs: number }, scheduler: SchedulerLike) {
    const timeoutMs = timeouts.commandMs;
    this.#timeoutMs = timeoutMs;
    this.#connectTimeoutMs = timeouts.connectMs;
    this.#scheduler = scheduler;
    this.owned = typeof redis === 'string';
    this.client =
      typeof redis === 'string'
        ? new RedisClient(redis, {
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
   * Runs one step against Redis, on its own (a step of several commands, or one that
   * needs the client itself).
   * @throws a `redisUnavailableError` when Redis is down, slow or answers with an error.
   */
  async run<T>(step: string, command: (client: RedisClientLike) => Promise<T>): Promise<T> {
    try {
      await this.#ready();
      return await within(command(this.client), this.#timeoutMs, this.#scheduler, step);
    } catch (error) {
      throw isRedisUnavailableError(error) ? error : redisUnavailableError(step, error);
    }
  }

  /**
   * Sends one command, and reads its reply. The commands sent in one turn of the event loop
   * go out together, as one pipeline with one timer (see {@link #flush}): a thousand keys
   * read at once cost one write and one round trip, not a thousand.
   * @throws a `redisUnavailableError` for `step` when Redis is down, slow or answers with an error.
   */
  async send<T>(step: string, command: RedisCommand<T>): Promise<T> {
    try {
      await this.#ready();
      const reply = await new Promise<unknown>((resolve, reject) => {
        // A turn, not a time: setImmediate runs once the timers, I/O callbacks and promise
        // jobs of this turn have queued their commands.
        if (this.#queue.push({ step, command, resolve, reject }) === 1) setImmediate(() => this.#flush());
      });
      return command.parse(reply);
    } catch (error) {
      throw isRedisUnavailableError(error) ? error : redisUnavailableError(step, error);
    }
  }

  /** A new connection with the same settings, for subscriber mode. */
  duplicate(): RedisClientLike {
    const { client } = this;
    if (isCluster(client)) {
      // A Cluster subscribes on one node of its choice: classic PUBLISH reaches every node
      // of a cluster, so that one node hears every key's announcements. It resubscribes
      // elsewhere by itself when that node goes.
      const subscriber = client.duplicate([], { lazyConnect: true });
      subscriber.on('error', noop);
      return subscriber;
    }
    const subscriber = client.duplicate({
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

  /**
   * Sends the queued commands: one alone as it is, several as one pipeline. One timer
   * bounds them all; each command gets its own reply or error.
   *
   * A Cluster takes a pipeline only when every key of it lives on one node, and the keys of
   * a turn are many tenants' over every shard: there each command goes on its own, which
   * ioredis writes to its node's socket without waiting for the previous reply, so that a
   * turn still costs about one round trip per node, in parallel.
   */
  #flush(): void {
    const queue = this.#queue.splice(0);
    const { client } = this;
    const alone = (queued: Queued): Promise<[Error | null, unknown]> =>
      invoke(client, queued.command).then(
        (reply) => [null, reply],
        (error: Error) => [error, undefined],
      );
    const replies: Promise<[Error | null, unknown][]> =
      queue.length === 1 || isCluster(client) ? Promise.all(queue.map(alone)) : pipelined(client, queue);
    const timeoutMs = this.#timeoutMs;
    within(replies, timeoutMs, this.#scheduler, 'batch').then(
      (results) =>
        queue.forEach((queued, i) => {
          const [error, reply] = results[i] ?? [new Error('no reply'), undefined];
          if (error === null) queued.resolve(reply);
          else queued.reject(redisUnavailableError(queued.step, error));
        }),
      (error: unknown) => {
        const problem = isRedisUnavailableError(error) ? `no answer within ${timeoutMs} ms` : error;
        for (const queued of queue) queued.reject(redisUnavailableError(queued.step, problem));
      },
    );
  }

  // Waiting for the first connection avoids a fleet-wide fallback at start-up; once the
  // client has been ready, any other state means an outage, and waiting would only delay
  // the fallback.
  async #ready(): Promise<void> {
    if (this.#closed) throw redisUnavailableError('connect', 'closed');
    const { client } = this;
    if (client.status === 'ready') {
      this.#seenReady = true;
      return;
    }
    if (this.#seenReady || !['wait', 'connecting', 'connect'].includes(client.status)) {
      throw redisUnavailableError('connect', `client is ${client.status}`);
    }
    if (client.status === 'wait') client.connect().catch(noop);
    // One wait for every call made while connecting: a listener set per call would pile up
    // on the client (and warn past ten) when many calls start at once.
    if (this.#connecting === undefined) {
      const connecting = within(onceReady(client), this.#connectTimeoutMs, this.#scheduler, 'connect');
      this.#connecting = connecting;
      connecting.then(
        () => (this.#connecting = undefined),
        () => (this.#connecting = undefined),
      );
    }
    await this.#connecting.catch((error: unknown) => {
      throw isRedisUnavailableError(error) ? error : redisUnavailableError('connect', error);
    });
    this.#seenReady = true;
  }
}

function onceReady(client: RedisClientLike): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: Error): void => {
      client.off('ready', onReady).off('error', onError).off('close', onClose).off('end', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = (): void => settle();
    const onError = (error: Error): void => settle(error);
    const onClose = (): void => settle(redisUnavailableError('connect', 'connection closed'));
    client.once('ready', onReady).once('error', onError).once('close', onClose).once('end', onClose);
  });
}

/** Quits `client` politely when it is connected, and closes its socket in any case. */
export async function quit(client: RedisClientLike, timeoutMs: number, scheduler: SchedulerLike): Promise<void> {
  // QUIT on a lazy client that never connected would connect first, only to quit.
  if (client.status === 'ready') await within(client.quit(), timeoutMs, scheduler, 'quit').catch(noop);
  client.disconnect();
}
