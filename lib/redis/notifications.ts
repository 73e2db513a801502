import type { SchedulerLike } from 'rxjs';
import { quit, within, type RedisClientLike } from './connection.js';
import { tokenKeyOf } from './keys.js';

const noop = (): void => {};

/** What the subscriber connection listens to: one channel, or one pattern for every key. */
export type Subscription = { channel: string } | { pattern: string };

/**
 * The announcements of new tokens, for every waiter of one shared source: one subscriber
 * connection (ioredis needs a connection of its own in subscriber mode), one subscription
 * whatever the number of keys, and the waiters by token key, so that an announcement wakes
 * the waiters of its own key and no others.
 *
 * Only a shortcut: pub/sub delivers at most once, so waiters poll the key as well, and a
 * subscription that fails leaves them polling.
 */
export class Notifications {
  readonly #createSubscriber: () => RedisClientLike;
  readonly #subscription: Subscription;
  readonly #timeoutMs: number;
  readonly #scheduler: SchedulerLike;
  // Only keys with a waiter now: held at rest, a key costs nothing here.
  readonly #waiters = new Map<string, Set<() => void>>();
  #subscriber: RedisClientLike | undefined;
  #subscribed: Promise<void> | undefined;
  #closed = false;

  constructor(createSubscriber: () => RedisClientLike, subscription: Subscription, timeoutMs: number, scheduler: SchedulerLike) {
    this.#createSubscriber = createSubscriber;
    this.#subscription = subscription;
    this.#timeoutMs = timeoutMs;
    this.#scheduler = scheduler;
  }

  /**
   * Calls `wake` on every announcement for `tokenKey` until the returned function is
   * called. Resolves once the subscription is confirmed, or once it gave up trying (then
   * only polling will find the token).
   */
  async listen(tokenKey: string, wake: () => void): Promise<() => void> {
    let waiters = this.#waiters.get(tokenKey);
    if (waiters === undefined) this.#waiters.set(tokenKey, (waiters = new Set()));
    waiters.add(wake);
    const own = waiters;
    const stop = (): void => {
      own.delete(wake);
      if (own.size === 0 && this.#waiters.get(tokenKey) === own) this.#waiters.delete(tokenKey);
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

  // The message itself is not read: the channel names the key, and anyone may publish.
  #announced(channel: string): void {
    const tokenKey = tokenKeyOf(channel);
    const waiters = tokenKey === undefined ? undefined : this.#waiters.get(tokenKey);
    if (waiters !== undefined) for (const wake of [...waiters]) wake();
  }

  #subscribe(): Promise<void> {
    const subscription = this.#subscription;
    if (this.#subscriber === undefined) {
      this.#subscriber = this.#createSubscriber();
      if ('channel' in subscription) {
        this.#subscriber.on('message', (channel: string) => {
          if (channel === subscription.channel) this.#announced(channel);
        });
      } else {
        this.#subscriber.on('pmessage', (pattern: string, channel: string) => {
          if (pattern === subscription.pattern) this.#announced(channel);
        });
      }
    }
    if (this.#subscribed === undefined) {
      const subscriber = this.#subscriber;
      const subscribed = ('channel' in subscription ? subscriber.subscribe(subscription.channel) : subscriber.psubscribe(subscription.pattern)).then(noop);
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
