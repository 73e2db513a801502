import type { SchedulerLike } from 'rxjs';
import { KeyWaiters } from '../key-waiters.js';
import { quit, within, type RedisClientLike } from './connection.js';

const noop = (): void => {};

/**
 * The change notices of one credential store: one subscriber connection and one channel for
 * every key, whose messages name the key that changed, so that the subscriptions do not grow
 * with the number of keys. Waiters are woken per key.
 *
 * Only a shortcut: pub/sub delivers at most once, so waiters wake after their timeout too,
 * and read again; a subscription that fails leaves them to that.
 */
export class CredentialNotices {
  readonly #createSubscriber: () => RedisClientLike;
  readonly #channel: string;
  readonly #timeoutMs: number;
  readonly #scheduler: SchedulerLike;
  readonly #waiters: KeyWaiters;
  #subscriber: RedisClientLike | undefined;
  #subscribed: Promise<void> | undefined;
  #closed = false;

  constructor(createSubscriber: () => RedisClientLike, channel: string, timeoutMs: number, scheduler: SchedulerLike) {
    this.#createSubscriber = createSubscriber;
    this.#channel = channel;
    this.#timeoutMs = timeoutMs;
    this.#scheduler = scheduler;
    this.#waiters = new KeyWaiters(scheduler);
  }

  /**
   * Resolves on the next notice for `key`, after `timeoutMs`, or when `signal` aborts,
   * whichever comes first. Never rejects; leaves no timer or listener behind.
   */
  next(key: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#closed) return Promise.resolve();
    const waiting = this.#waiters.wait(key, timeoutMs, signal);
    void within(this.#subscribe(), this.#timeoutMs, this.#scheduler, 'subscribe').catch(noop);
    return waiting;
  }

  /** Wakes every waiter and closes the subscriber connection. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#waiters.wakeAll();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber !== undefined) await quit(subscriber, this.#timeoutMs, this.#scheduler);
  }

  #subscribe(): Promise<void> {
    if (this.#subscriber === undefined) {
      this.#subscriber = this.#createSubscriber();
      this.#subscriber.on('message', (channel: string, key: string) => {
        if (channel !== this.#channel) return;
        this.#waiters.wake(key);
      });
    }
    if (this.#subscribed === undefined) {
      const subscribed = this.#subscriber.subscribe(this.#channel).then(noop);
      this.#subscribed = subscribed;
      // After a failure the next waiter tries again; ioredis resubscribes by itself after a
      // reconnection once a subscription has worked.
      subscribed.catch(() => {
        if (this.#subscribed === subscribed) this.#subscribed = undefined;
      });
    }
    return this.#subscribed;
  }
}
