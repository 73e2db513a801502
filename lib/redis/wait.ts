import type { SchedulerLike } from 'rxjs';
import { TokenError, type Token } from '../index.js';
import type { Notifications } from './notifications.js';

/** What {@link waitForHolder} needs to know. */
export interface WaitOptions {
  /** Reads the stored token and the lock, in that order, in one round trip. */
  read: () => Promise<(string | null)[]>;
  /** Turns the stored JSON into a token (undefined when absent or unreadable). */
  parse: (raw: string | null | undefined) => Token | undefined;
  /** Whether a stored token ends the wait. */
  usable: (token: Token | undefined) => token is Token;
  /** Wakes the wait early when the holder announces its token. */
  notifications: Notifications;
  /** The longest pause between two reads. */
  pollMs: number;
  /** Scheduler time after which the wait fails. */
  deadline: number;
  /** How long the whole wait may take, for the error message. */
  waitTimeoutMs: number;
  /** The timer of the pauses and the clock of the deadline. */
  scheduler: SchedulerLike;
  /** Any of them aborting ends the wait with its reason. */
  signals: AbortSignal[];
}

/**
 * Waits while another process holds the lock: resolves with the token it stores, or with
 * undefined once the lock is gone without a usable token (the holder failed or died, and
 * the caller should race for the lock).
 *
 * It subscribes before its first read, so that an announcement made in between is not
 * missed, and it reads again every `pollMs` because an announcement may still be lost.
 *
 * @throws the reason of an aborted signal; a retryable `ERR_TOKEN_TIMEOUT` at the deadline;
 * whatever `read` throws.
 */
export async function waitForHolder(options: WaitOptions): Promise<Token | undefined> {
  const { read, parse, usable, notifications, pollMs, deadline, scheduler, signals } = options;
  let woken = false;
  let wakeUp: (() => void) | undefined;
  const stop = await notifications.listen(() => {
    woken = true;
    wakeUp?.();
  });
  try {
    for (;;) {
      const aborted = signals.find((signal) => signal.aborted);
      if (aborted !== undefined) throw aborted.reason;
      const [raw, lock] = await read();
      const token = parse(raw);
      if (usable(token)) return token;
      if (lock === null || lock === undefined) return undefined;
      const left = deadline - scheduler.now();
      if (left <= 0) {
        throw new TokenError(
          'ERR_TOKEN_TIMEOUT',
          `No shared token from the process holding the lock within ${options.waitTimeoutMs} ms`,
        );
      }
      if (woken) {
        woken = false;
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        const settle = (): void => {
          timer.unsubscribe();
          wakeUp = undefined;
          woken = false;
          for (const signal of signals) signal.removeEventListener('abort', onAbort);
        };
        const onAbort = (event: Event): void => {
          settle();
          reject((event.target as AbortSignal).reason);
        };
        const timer = scheduler.schedule(() => {
          settle();
          resolve();
        }, Math.min(pollMs, left));
        wakeUp = () => {
          settle();
          resolve();
        };
        for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  } finally {
    stop();
  }
}
