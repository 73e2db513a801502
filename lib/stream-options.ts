/** The options of a {@link TokenStream}, their defaults and their check, in one place. */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import {
  MAX_TIMER_MS,
  checkOptionsObject,
  isNonNegative,
  isScheduler,
  isTimerDelay,
  optionChecker,
} from './options.js';
import { retryPolicy, type RetryOptions, type RetryPolicy } from './retry.js';
import type { TokenSource } from './token.js';

/** How a {@link TokenStream} is set up. Only `source` is required. */
export interface TokenStreamOptions {
  /** Where tokens come from. Called at most once at a time. */
  source: TokenSource;
  /**
   * How long before expiry a token is refreshed in the background while still being
   * served. Never more than half the token's lifetime.
   * @default 60_000
   */
  refreshWindowMs?: number;
  /**
   * How long one source call may take before it is aborted and counted as a failure.
   * At most 2,147,483,647 (the longest Node.js timer).
   * @default 10_000
   */
  timeoutMs?: number;
  /** How failed source calls are retried. */
  retry?: RetryOptions;
  /**
   * The clock and timer of every delay, timeout and expiry check.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

/** What {@link TokenStream.getToken} takes. */
export interface GetTokenOptions {
  /** Aborting it rejects this call only (`ERR_TOKEN_ABORTED`); the shared refresh goes on. */
  signal?: AbortSignal;
}

/** {@link TokenStreamOptions} checked, with every default filled in. */
export interface StreamSetup {
  source: TokenSource;
  refreshWindowMs: number;
  timeoutMs: number;
  retry: RetryPolicy;
  scheduler: SchedulerLike;
}

/**
 * Checks the options at construction and fills in the defaults.
 * @param owner the class named in errors (`TokenStreams` checks its options here too).
 * @throws {TypeError} naming the first bad option.
 */
export function resolveStreamOptions(options: TokenStreamOptions, owner = 'TokenStream'): StreamSetup {
  const check = optionChecker(owner);
  checkOptionsObject(check, options, 'source');
  const { source, refreshWindowMs = 60_000, timeoutMs = 10_000, retry = {}, scheduler = asyncScheduler } = options;
  check(typeof source === 'function', 'source', 'a function returning a promise or observable of a token');
  check(isNonNegative(refreshWindowMs), 'refreshWindowMs', 'a number >= 0');
  check(isTimerDelay(timeoutMs) && timeoutMs > 0, 'timeoutMs', `a number from 1 to ${MAX_TIMER_MS}`);
  check(isScheduler(scheduler), 'scheduler', 'an RxJS SchedulerLike');
  check(typeof retry === 'object' && retry !== null, 'retry', 'an object');
  const { count, delayMs, maxDelayMs, jitter } = retry;
  check(count === undefined || (Number.isInteger(count) && count >= 0), 'retry.count', 'an integer >= 0');
  check(delayMs === undefined || isTimerDelay(delayMs), 'retry.delayMs', `a number from 0 to ${MAX_TIMER_MS}`);
  check(maxDelayMs === undefined || isTimerDelay(maxDelayMs), 'retry.maxDelayMs', `a number from 0 to ${MAX_TIMER_MS}`);
  check(jitter === undefined || (isNonNegative(jitter) && jitter <= 1), 'retry.jitter', 'a number from 0 to 1');
  return { source, refreshWindowMs, timeoutMs, retry: retryPolicy(retry), scheduler };
}
