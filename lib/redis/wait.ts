import { Subject, type SchedulerLike } from 'rxjs';
import { redisUnavailableError, sharedWaitTimeoutError } from '../errors.js';
import type { Notifications } from './notifications.js';
import { pause } from './pause.js';
import type { SharedState } from './scripts.js';
import type { StoredToken } from './stored-token.js';

/** What {@link waitForHolder} needs to know. */
export interface WaitOptions {
  /** Reads the shared keys: the stored token and the state of the lock, in one round trip. */
  read: () => Promise<SharedState>;
  /** The token in what `read` found, if it is one that ends the wait. */
  usable: (raw: string | null) => StoredToken | undefined;
  /** Wakes the wait early when the holder announces its token. */
  notifications: Notifications;
  /** The pause between two reads, unless an announcement ends it. */
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
 * a `redisUnavailableError` for a lock key that no process of the fleet wrote (the caller
 * falls back to its source rather than wait for a holder that does not exist); whatever
 * `read` throws.
 */
export async function waitForHolder(options: WaitOptions): Promise<StoredToken | undefined> {
  const { read, usable, notifications, pollMs, deadline, scheduler, signals } = options;
  const announced = new Subject<void>();
  // An announcement that arrives during a read counts for the pause after it.
  let pending = false;
  const stop = await notifications.listen(() => {
    pending = true;
    announced.next();
  });
  try {
    // An announcement ends a pause, so that the new token is taken at once. One that led
    // to no token (a chatty publisher, an attacker) is not followed again before the next
    // timed read: a flood of messages costs at most one extra read per pollMs, never a
    // busy loop.
    let followAnnouncements = true;
    for (;;) {
      const aborted = signals.find((signal) => signal.aborted);
      if (aborted !== undefined) throw aborted.reason;
      pending = false;
      const { raw, lock } = await read();
      const found = usable(raw);
      if (found !== undefined) return found;
      if (lock === 'free') return undefined;
      if (typeof lock === 'object') throw redisUnavailableError('lock', lock.unusable);
      const left = deadline - scheduler.now();
      if (left <= 0) throw sharedWaitTimeoutError(options.waitTimeoutMs);
      const ms = Math.min(pollMs, left);
      if (followAnnouncements) {
        const woken = pending || (await pause(ms, scheduler, signals, announced));
        followAnnouncements = !woken;
      } else {
        await pause(ms, scheduler, signals);
        followAnnouncements = true;
      }
    }
  } finally {
    stop();
  }
}
