import type { Notification, Pool, PoolClient } from 'pg';
import type { SchedulerLike } from 'rxjs';
import { KeyWaiters } from '../key-waiters.js';
import { checkout, giveBack, within } from './connection.js';
import { storeTimeoutError } from './errors.js';
import { escapeIdentifier } from './pg.js';

const noop = (): void => {};

/**
 * The waiters of one store and the one connection that LISTENs for them: taken from the pool
 * on the first wait, held until `close()`, destroyed (never given back with a LISTEN on it).
 *
 * A NOTIFY reaches only a connection that was listening when the change committed. So each
 * time listening (re)starts, every waiter is woken once to read again: a change made before
 * the LISTEN took effect is then read rather than missed until the waiter's timeout. When the
 * connection drops, waiters are woken for the same reason, and the next wait listens again.
 */
export class Notifications {
  readonly #pool: Pool;
  readonly #channel: string;
  readonly #timeoutMs: number;
  readonly #scheduler: SchedulerLike;
  /** Wake-ups by key hash. */
  readonly #waiters: KeyWaiters;
  #client: PoolClient | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(pool: Pool, channel: string, timeoutMs: number, scheduler: SchedulerLike) {
    this.#pool = pool;
    this.#channel = channel;
    this.#timeoutMs = timeoutMs;
    this.#scheduler = scheduler;
    this.#waiters = new KeyWaiters(scheduler);
  }

  /**
   * Resolves on a notification for `hash`, when listening (re)starts or stops, after
   * `timeoutMs`, or when `signal` aborts. Never rejects: a LISTEN that fails leaves the
   * wait to its timeout, as polling would.
   */
  wait(hash: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.#closed || signal.aborted) return Promise.resolve();
    const waiting = this.#waiters.wait(hash, timeoutMs, signal);
    if (this.#client === undefined) this.#connecting ??= this.#listen().finally(() => (this.#connecting = undefined));
    return waiting;
  }

  /** Wakes every waiter and destroys the listening connection. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#connecting;
    this.#waiters.wakeAll();
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    // Destroyed, and awaited, so that no socket of this store outlives close().
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    giveBack(client, true);
    await within(ended, this.#timeoutMs, this.#scheduler, () => storeTimeoutError('listen', this.#timeoutMs)).catch(noop);
  }

  async #listen(): Promise<void> {
    let client: PoolClient;
    try {
      client = await checkout(this.#pool, this.#timeoutMs, this.#scheduler, 'listen');
    } catch {
      return;
    }
    const onNotification = (message: Notification): void => {
      if (message.channel !== this.#channel || message.payload === undefined) return;
      this.#waiters.wake(message.payload);
    };
    let lost = false;
    const onLost = (): void => {
      lost = true;
      client.off('notification', onNotification).off('error', onLost).off('end', onLost);
      if (this.#client !== client) return;
      this.#client = undefined;
      giveBack(client, true);
      this.#waiters.wakeAll();
    };
    client.on('notification', onNotification).on('error', onLost).on('end', onLost);
    try {
      const listen = client.query(`LISTEN ${escapeIdentifier(this.#channel)}`);
      await within(listen, this.#timeoutMs, this.#scheduler, () => storeTimeoutError('listen', this.#timeoutMs));
    } catch {
      lost = true;
    }
    // Lost between the LISTEN's answer and here, too: it is not ours to keep.
    if (lost) {
      client.off('notification', onNotification).off('error', onLost).off('end', onLost);
      giveBack(client, true);
      return;
    }
    // After close() began, it is waiting for this attempt, and destroys what is in #client.
    this.#client = client;
    if (!this.#closed) this.#waiters.wakeAll();
  }
}
