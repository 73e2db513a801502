/**
 * The subscribers of one stream's `token$`: who is still waiting for a first token, who
 * already holds one, and the three ways they are told something.
 */
import type { Subscriber } from 'rxjs';
import type { TokenError } from './errors.js';
import type { Token } from './token.js';

interface Entry {
  readonly subscriber: Subscriber<Token>;
  /** Whether it has had a token: a later failed refresh does not error it. */
  received: boolean;
}

/**
 * A Set rather than a Subject: each subscriber that leaves costs O(1), so releasing N
 * waiters costs O(N), not O(N²) (a Subject's observer array is copied on every removal).
 */
export class Waiters {
  readonly #entries = new Set<Entry>();

  /** How many subscribers are registered (waiting or holding a token). */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether one of them is still waiting for its first token. */
  get waiting(): boolean {
    for (const { received } of this.#entries) if (!received) return true;
    return false;
  }

  /**
   * Registers `subscriber` until it unsubscribes.
   * @param received whether it was handed a token already.
   * @param onLeave called after it left.
   */
  add(subscriber: Subscriber<Token>, received: boolean, onLeave: () => void): void {
    const entry: Entry = { subscriber, received };
    this.#entries.add(entry);
    subscriber.add(() => {
      this.#entries.delete(entry);
      onLeave();
    });
  }

  /**
   * Hands `token` to every subscriber, stopping as soon as `isCurrent` says it was replaced
   * meanwhile (a subscriber invalidated it while it was handed out): the rest then wait for
   * its replacement rather than get a rejected token.
   */
  deliver(token: Token, isCurrent: () => boolean): void {
    for (const entry of [...this.#entries]) {
      if (!isCurrent()) return;
      if (entry.subscriber.closed) continue;
      entry.received = true;
      entry.subscriber.next(token);
    }
  }

  /** Errors every subscriber still waiting for its first token; the others keep theirs. */
  rejectWaiting(error: TokenError): void {
    for (const { subscriber, received } of [...this.#entries]) if (!received) subscriber.error(error);
  }

  /** On close: errors the waiting subscribers and completes the others. */
  closeAll(error: TokenError): void {
    for (const { subscriber, received } of [...this.#entries]) {
      if (received) subscriber.complete();
      else subscriber.error(error);
    }
  }
}
