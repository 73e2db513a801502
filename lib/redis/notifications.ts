import type { Redis } from 'ioredis';
import type { SchedulerLike } from 'rxjs';
import { quit, within } from './connection.js';

const noop = (): void => {};

/**
 * The announcements of new tokens on one channel, for every waiter of one shared source:
 * one subscriber connection (ioredis needs a connection of its own in subscriber mode),
 * one `message` listener, and a set of waiters it wakes.
 *
 * Only a shortcut: pub/sub delivers at most once, so waiters poll the key as well, and a
 * subscription that fails leaves them polling.
 */
export class Notifications {
  readonly #createSubscriber: () => Redis;
  readonly #channel: string;
  readonly #timeoutMs: number;
  readonly #scheduler: SchedulerLike;
  readonly #waiters = new Set<() => void>();
  #subscriber: Redis | undefined;
  #subscribed: Promise<void> | undefined;
  #closed = false;

  constructor(createSubscriber: () => Redis, channel: string, timeoutMs: number, scheduler: SchedulerLike) {
    this.#createSubscriber = createSubscriber;
    this.#channel = channel;
    this.#timeoutMs = timeoutMs;
    this.#scheduler = scheduler;
  }

  /**
   * Calls `wake` on every announcement until the returned function is called. Resolves
   * once the subscription is confirmed, or once it gave up trying (then only polling
   * will find the token).
   */
  async listen(wake: () => void): Promise<() => void> {
    this.#waiters.add(wake);
    const stop = (): void => {
      this.#waiters.delete(wake);
    };
    if (!this.#closed) await within(this.#subscribe(), this.#timeoutMs, this.#scheduler, 'subscribe').catch(noop);
    return stop;
  }

  /** Forgets every waiter and closes the subscriber connection. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#waiters.clear();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber !== undefined) await quit(subscriber, this.#timeoutMs, this.#scheduler);
  }

  #subscribe(): Promise<void> {
    if (this.#subscriber === undefined) {
      this.#subscriber = this.#createSubscriber();
      this.#subscriber.on('message', (channel: string) => {
        if (channel !== this.#channel) return;
        for (const wake of [...this.#waiters]) wake();
      });
    }
    if (this.#subscribed === undefined) {
      const subscribed = this.#subscriber.subscribe(this.#channel).then(noop);
      this.#subscribed = subscribed;
      // After a failure the next waiter tries again; ioredis resubscribes by itself after
      // a reconnection once a subscription has worked.
      subscribed.catch(() => {
        if (this.#subscribed === subscribed) this.#subscribed = undefined;
      });
    }
    return this.#subscribed;
  }
}
