import type { SchedulerLike } from 'rxjs';
import type { RedisClientLike } from './connection.js';
import { tokenKeyOf } from './keys.js';
import { Subscriber, type Subscription } from './subscriber.js';

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
  readonly #subscriber: Subscriber;
  // Only keys with a waiter now: held at rest, a key costs nothing here.
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(createSubscriber: () => RedisClientLike, subscription: Subscription, timeoutMs: number, scheduler: SchedulerLike) {
    this.#subscriber = new Subscriber(createSubscriber, subscription, (channel) => this.#announced(channel), timeoutMs, scheduler);
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
    await this.#subscriber.subscribed();
    return stop;
  }

  /** Forgets every waiter and closes the subscriber connection. Idempotent. */
  async close(): Promise<void> {
    this.#waiters.clear();
    await this.#subscriber.close();
  }

  // The message itself is not read: the channel names the key, and anyone may publish.
  #announced(channel: string): void {
    const tokenKey = tokenKeyOf(channel);
    const waiters = tokenKey === undefined ? undefined : this.#waiters.get(tokenKey);
    if (waiters !== undefined) for (const wake of [...waiters]) wake();
  }
}
