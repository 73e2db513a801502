import type { TokenStreamOptions } from './token-stream.js';

/** How failed source calls are retried, with exponential backoff and jitter. */
export interface RetryOptions {
  /**
   * Retries after the first failed call (so `count + 1` calls at most).
   * @default 2
   */
  count?: number;
  /**
   * The first backoff delay; each retry doubles it.
   * @default 250
   */
  delayMs?: number;
  /**
   * The cap on one backoff delay.
   * @default 5_000
   */
  maxDelayMs?: number;
  /**
   * The share of each delay that is randomised (0: none; 1: anywhere from 0 to the delay).
   * @default 0.5
   */
  jitter?: number;
}

function check(ok: boolean, name: string, rule: string): void {
  if (!ok) throw new TypeError(`TokenStream: option \`${name}\` must be ${rule}`);
}

const isNonNegative = (value: unknown): boolean => typeof value === 'number' && value >= 0 && !Number.isNaN(value);

/**
 * The longest delay a Node.js timer takes: a longer one fires after 1 ms instead, which
 * would turn a generous timeout into an immediate one.
 */
export const MAX_TIMER_MS = 2_147_483_647;

const isTimerDelay = (value: unknown): boolean => isNonNegative(value) && (value as number) <= MAX_TIMER_MS;

/** Checks the options at construction, naming the first bad one. Returns them as given. */
export function validateOptions(options: TokenStreamOptions): TokenStreamOptions {
  check(typeof options === 'object' && options !== null, 'options', 'an object');
  const { source, refreshWindowMs, timeoutMs, retry, scheduler } = options;
  check(typeof source === 'function', 'source', 'a function returning a promise or observable of a token');
  check(refreshWindowMs === undefined || isNonNegative(refreshWindowMs), 'refreshWindowMs', 'a number >= 0');
  check(timeoutMs === undefined || (isTimerDelay(timeoutMs) && timeoutMs > 0), 'timeoutMs', `a number from 1 to ${MAX_TIMER_MS}`);
  check(
    scheduler === undefined || (typeof scheduler?.now === 'function' && typeof scheduler.schedule === 'function'),
    'scheduler',
    'an RxJS SchedulerLike',
  );
  if (retry !== undefined) {
    check(typeof retry === 'object' && retry !== null, 'retry', 'an object');
    const { count, delayMs, maxDelayMs, jitter } = retry;
    check(count === undefined || (Number.isInteger(count) && count >= 0), 'retry.count', 'an integer >= 0');
    check(delayMs === undefined || isTimerDelay(delayMs), 'retry.delayMs', `a number from 0 to ${MAX_TIMER_MS}`);
    check(maxDelayMs === undefined || isTimerDelay(maxDelayMs), 'retry.maxDelayMs', `a number from 0 to ${MAX_TIMER_MS}`);
    check(jitter === undefined || (isNonNegative(jitter) && jitter <= 1), 'retry.jitter', 'a number from 0 to 1');
  }
  return options;
}

/** The delay before retry number `retryCount` (1 for the first retry). */
export function backoffDelay(retry: Required<RetryOptions>, retryCount: number, random: () => number = Math.random): number {
  const base = Math.min(retry.maxDelayMs, retry.delayMs * 2 ** (retryCount - 1));
  return Math.round(base * (1 - retry.jitter * random()));
}

/** A source error with `retryable: false` (an OAuth `invalid_client`, say) is final. */
export function isRetryable(error: unknown): boolean {
  return !(typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false);
}

/** A source error may ask for a delay (`retryAfterMs`, from an HTTP Retry-After). */
export function retryAfterOf(error: unknown): number | undefined {
  const value = typeof error === 'object' && error !== null ? (error as { retryAfterMs?: unknown }).retryAfterMs : undefined;
  // Capped, because a longer timer would fire at once (see MAX_TIMER_MS).
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.min(value, MAX_TIMER_MS) : undefined;
}
