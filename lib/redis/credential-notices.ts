import type { SchedulerLike } from 'rxjs';
import { KeyWaiters } from '../key-waiters.js';
import type { RedisClientLike } from './connection.js';
import { Subscriber } from './subscriber.js';

/**
 * The change notices of one credential store: one subscriber connection and one channel for
 * every key, whose messages name the key that changed, so that the subscriptions do not grow
 * with the number of keys. Waiters are woken per key.
 *
 * Only a shortcut: pub/sub delivers at most once, so waiters wake after their timeout too,
 * and read again; a subscription that fails leaves them to that.
 */
export class CredentialNotices {
  readonly #waiters: KeyWaiters;
  readonly #subscriber: Subscriber;
  #closed = false;

  constructor(createSubscriber: () => RedisClientLike, channel: string, timeoutMs: number, scheduler: SchedulerLike) {
    this.#waiters = new KeyWaiters(scheduler);
    this.#subscriber = new Subscriber(createSubscriber, { channel }, (_channel, key) => this.#waiters.wake(key), timeoutMs, scheduler);
  }

  /**
   * Resolves on the next notice for `key`, after `timeoutMs`, or when `signal` aborts,
   * whichever comes first. Never rejects; leaves no timer or listener behind.
   */
  next(key: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#closed) return Promise.resolve();
    const waiting = this.#waiters.wait(key, timeoutMs, signal);
    void this.#subscriber.subscribed();
    return waiting;
  }

  /** Wakes every waiter and closes the subscriber connection. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#waiters.wakeAll();
    await this.#subscriber.close();
  }
}
