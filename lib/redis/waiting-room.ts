import type { SchedulerLike, Subscription } from 'rxjs';
import { redisUnavailableError, sharedWaitTimeoutError } from '../errors.js';
import type { SharedKeys } from './keys.js';
import type { Notifications } from './notifications.js';
import type { SharedState } from './scripts.js';
import type { StoredToken } from './stored-token.js';

/** One call waiting for the process that holds the lock of its key. */
export interface WaitRequest {
  keys: SharedKeys;
  /** The token in what a read found, if it is one that ends this wait. */
  usable: (raw: string | null) => StoredToken | undefined;
  /** Scheduler time after which the wait fails. */
  deadline: number;
  /** How long the whole wait may take, for the error message. */
  waitTimeoutMs: number;
  /** The caller's: aborting it ends the wait with its reason. */
  signal: AbortSignal;
}

interface Waiter {
  readonly request: WaitRequest;
  readonly settle: (outcome: { found: StoredToken | undefined } | { error: unknown }) => void;
}

/** One key waited for, by one or more calls, and the state of its reads. */
interface Watched {
  readonly keys: SharedKeys;
  readonly waiters: Set<Waiter>;
  /** Whether its announcements reach us yet: the first read waits for it. */
  subscribed: boolean;
  stop: (() => void) | undefined;
  reading: boolean;
  /** Whether the pause after the last read follows an announcement (see {@link #announced}). */
  follow: boolean;
  /** An announcement came during a read: read again once it is back. */
  pending: boolean;
  /** A call joined during a read that may have started before its own: read again. */
  again: boolean;
}

/** How the room reads a key and hears of new tokens. */
export interface WaitingRoomOptions {
  /** Reads a key's token and lock, in one round trip. */
  read: (keys: SharedKeys) => Promise<SharedState>;
  notifications: Notifications;
  pollMs: number;
  scheduler: SchedulerLike;
}

/**
 * The calls of one shared source that wait for another process's refresh, every key at
 * once: one timer for all of them (every `pollMs` while anyone waits, none at rest), one
 * read per key however many calls wait for it, and the reads of one tick sent together.
 *
 * A wait resolves with the token the holder stores, or with undefined once the lock is gone
 * without a usable token (the holder failed or died: the caller races for the lock).
 * Each key is read when its wait starts (after the subscription, so that an announcement
 * made in between is not missed), at every tick, because pub/sub may lose a message, and
 * at once on an announcement. An announcement that led to no token is not followed again
 * before the next tick: a flood of messages costs at most one extra read per key per
 * `pollMs`, never a busy loop.
 */
export class WaitingRoom {
  readonly #options: WaitingRoomOptions;
  readonly #watched = new Map<string, Watched>();
  #timer: Subscription | undefined;
  #timerAt = Infinity;
  #nextTickAt = Infinity;
  #closed: { reason: unknown } | undefined;

  constructor(options: WaitingRoomOptions) {
    this.#options = options;
  }

  /**
   * Waits for the holder of `request.keys`.
   * @throws the reason of the aborted signal; a retryable `ERR_TOKEN_TIMEOUT` at the
   * deadline; a `redisUnavailableError` when a read fails, or for a lock key that no process
   * of the fleet wrote (the caller falls back rather than wait for a holder that does not
   * exist); the reason given to {@link close}.
   */
  wait(request: WaitRequest): Promise<StoredToken | undefined> {
    const { signal, keys, deadline } = request;
    if (this.#closed !== undefined) return Promise.reject(this.#closed.reason);
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => waiter.settle({ error: signal.reason });
      const waiter: Waiter = {
        request,
        settle: (outcome) => {
          if (!watched.waiters.delete(waiter)) return;
          signal.removeEventListener('abort', onAbort);
          if (watched.waiters.size === 0) this.#unwatch(watched);
          if ('found' in outcome) resolve(outcome.found);
          else reject(outcome.error);
        },
      };
      const watched = this.#watch(keys);
      watched.waiters.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
      if (watched.subscribed) this.#read(watched, false);
      if (this.#nextTickAt === Infinity) this.#nextTickAt = this.#options.scheduler.now() + this.#options.pollMs;
      this.#arm(Math.min(deadline, this.#nextTickAt));
    });
  }

  /** Ends every wait with `reason`, and each one that starts after. */
  close(reason: unknown): void {
    this.#closed = { reason };
    for (const watched of [...this.#watched.values()]) {
      for (const waiter of [...watched.waiters]) waiter.settle({ error: reason });
    }
  }

  #watch(keys: SharedKeys): Watched {
    const known = this.#watched.get(keys.tokenKey);
    if (known !== undefined) return known;
    const watched: Watched = {
      keys,
      waiters: new Set(),
      subscribed: false,
      stop: undefined,
      reading: false,
      follow: true,
      pending: false,
      again: false,
    };
    this.#watched.set(keys.tokenKey, watched);
    void this.#options.notifications.listen(keys.tokenKey, () => this.#announced(watched)).then((stop) => {
      if (this.#watched.get(keys.tokenKey) !== watched) return stop();
      watched.stop = stop;
      watched.subscribed = true;
      this.#read(watched, false);
    });
    return watched;
  }

  #unwatch(watched: Watched): void {
    if (this.#watched.get(watched.keys.tokenKey) === watched) this.#watched.delete(watched.keys.tokenKey);
    watched.stop?.();
    if (this.#watched.size === 0) {
      this.#timer?.unsubscribe();
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#nextTickAt = Infinity;
    }
  }

  // An announcement is followed at once, unless the pause it would end follows a read that
  // an announcement started: then only the next tick reads again.
  #announced(watched: Watched): void {
    if (!watched.subscribed || !watched.follow) return;
    if (watched.reading) watched.pending = true;
    else this.#read(watched, true);
  }

  #read(watched: Watched, woken: boolean): void {
    if (watched.reading) {
      watched.again = true;
      return;
    }
    watched.reading = true;
    watched.follow = !woken;
    watched.pending = false;
    watched.again = false;
    this.#options.read(watched.keys).then(
      (state) => this.#found(watched, { state }),
      (error: unknown) => this.#found(watched, { error }),
    );
  }

  #found(watched: Watched, read: { state: SharedState } | { error: unknown }): void {
    watched.reading = false;
    for (const waiter of [...watched.waiters]) {
      if ('error' in read) {
        waiter.settle(read);
        continue;
      }
      const found = waiter.request.usable(read.state.raw);
      const { lock } = read.state;
      if (found !== undefined || lock === 'free') waiter.settle({ found });
      else if (typeof lock === 'object') waiter.settle({ error: redisUnavailableError('lock', lock.unusable) });
    }
    if (watched.waiters.size === 0) return;
    if (watched.again) this.#read(watched, false);
    else if (watched.follow && watched.pending) this.#read(watched, true);
  }

  /** Makes sure that the timer fires by `at`. */
  #arm(at: number): void {
    if (at >= this.#timerAt) return;
    this.#timer?.unsubscribe();
    const { scheduler } = this.#options;
    this.#timerAt = at;
    this.#timer = scheduler.schedule(() => this.#tick(), Math.max(0, at - scheduler.now()));
  }

  // Fails the waits past their deadline and, on a tick, reads every key that is not being
  // read; then arms the timer for the next tick or deadline.
  #tick(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const { scheduler, pollMs } = this.#options;
    const now = scheduler.now();
    const onTick = now >= this.#nextTickAt;
    let next = Infinity;
    for (const watched of [...this.#watched.values()]) {
      for (const waiter of [...watched.waiters]) {
        const { deadline, waitTimeoutMs } = waiter.request;
        if (deadline <= now) waiter.settle({ error: sharedWaitTimeoutError(waitTimeoutMs) });
        else next = Math.min(next, deadline);
      }
      if (onTick && watched.waiters.size > 0 && watched.subscribed && !watched.reading) this.#read(watched, false);
    }
    if (this.#watched.size === 0) return;
    if (onTick) this.#nextTickAt = now + pollMs;
    this.#arm(Math.min(next, this.#nextTickAt));
  }
}
