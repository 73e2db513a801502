/**
 * Waiters woken by key: what every credential store's `changed` is made of (in memory, on a
 * Redis channel, on a PostgreSQL LISTEN). A wait ends on a wake of its key, on its timeout
 * or on its signal, whichever comes first, and leaves no timer, listener or empty entry.
 */
import type { SchedulerLike } from 'rxjs';

export class KeyWaiters {
  readonly #scheduler: SchedulerLike;
  // Only keys with a waiter now: held at rest, a key costs nothing here.
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(scheduler: SchedulerLike) {
    this.#scheduler = scheduler;
  }

  /**
   * Resolves on {@link wake} of `key`, after `timeoutMs`, or when `signal` aborts. Never
   * rejects. A signal that has already aborted resolves it at once.
   */
  wait(key: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiters = this.#waiters.get(key) ?? new Set<() => void>();
      this.#waiters.set(key, waiters);
      const done = (): void => {
        timer.unsubscribe();
        signal.removeEventListener('abort', done);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
        resolve();
      };
      const timer = this.#scheduler.schedule(done, timeoutMs);
      if (signal.aborted) return done();
      signal.addEventListener('abort', done, { once: true });
      waiters.add(done);
    });
  }

  /** Ends every wait on `key`. */
  wake(key: string): void {
    for (const done of [...(this.#waiters.get(key) ?? [])]) done();
  }

  /** Ends every wait, of every key. */
  wakeAll(): void {
    for (const waiters of [...this.#waiters.values()]) for (const done of [...waiters]) done();
  }
}
