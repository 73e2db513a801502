import type { SchedulerLike } from 'rxjs';
import { quit, within, type RedisClientLike } from './connection.js';

const noop = (): void => {};

/** What a subscriber connection listens to: one channel, or one pattern. */
export type Subscription = { channel: string } | { pattern: string };

/**
 * One subscriber connection with one subscription, both made on first use: ioredis needs a
 * connection of its own in subscriber mode. `onMessage` gets the channel and the message of
 * each publication the subscription matches.
 */
export class Subscriber {
  readonly #createClient: () => RedisClientLike;
  readonly #subscription: Subscription;
  readonly #onMessage: (channel: string, message: string) => void;
  readonly #timeoutMs: number;
  readonly #scheduler: SchedulerLike;
  #client: RedisClientLike | undefined;
  #subscribed: Promise<void> | undefined;
  #closed = false;

  constructor(
    createClient: () => RedisClientLike,
    subscription: Subscription,
    onMessage: (channel: string, message: string) => void,
    timeoutMs: number,
    scheduler: SchedulerLike,
  ) {
    this.#createClient = createClient;
    this.#subscription = subscription;
    this.#onMessage = onMessage;
    this.#timeoutMs = timeoutMs;
    this.#scheduler = scheduler;
  }

  /**
   * Subscribes unless it has. Resolves once the subscription is confirmed, or once it gave
   * up: after `timeoutMs`, or at once when closed. Never rejects.
   */
  subscribed(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return within(this.#subscribe(), this.#timeoutMs, this.#scheduler, 'subscribe').catch(noop);
  }

  /** Closes the connection, for good. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) await quit(client, this.#timeoutMs, this.#scheduler);
  }

  #subscribe(): Promise<void> {
    const subscription = this.#subscription;
    if (this.#client === undefined) {
      this.#client = this.#createClient();
      if ('channel' in subscription) {
        this.#client.on('message', (channel: string, message: string) => {
          if (channel === subscription.channel) this.#onMessage(channel, message);
        });
      } else {
        this.#client.on('pmessage', (pattern: string, channel: string, message: string) => {
          if (pattern === subscription.pattern) this.#onMessage(channel, message);
        });
      }
    }
    if (this.#subscribed === undefined) {
      const client = this.#client;
      const subscribed = ('channel' in subscription ? client.subscribe(subscription.channel) : client.psubscribe(subscription.pattern)).then(noop);
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
