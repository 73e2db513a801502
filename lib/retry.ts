/**
 * How failed source calls are retried: the options, the backoff, and how a source's error
 * says whether and when to try again. Every retry decision of the core lives here.
 */
import { MAX_TIMER_MS } from './options.js';

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

/** {@link RetryOptions} with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

/** Fills in the defaults of `options` (already checked). */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const { count = 2, delayMs = 250, maxDelayMs = 5_000, jitter = 0.5 } = options;
  return { count, delayMs, maxDelayMs, jitter };
}

/**
 * The shortest pause after a failed background refresh before the next one. A background
 * refresh is not urgent (the held token is still served), so even with `delayMs: 0` a
 * failing auth server is not asked again at the pace of demands or timer ticks.
 */
export const BACKGROUND_RETRY_FLOOR_MS = 1_000;

/** When a failed background refresh may be tried again, from `now`. */
export function backgroundRetryAt(policy: RetryPolicy, now: number): number {
  return now + Math.max(policy.delayMs, BACKGROUND_RETRY_FLOOR_MS);
}

/** The delay before retry number `retryCount` (1 for the first retry). */
export function backoffDelay(policy: RetryPolicy, retryCount: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** (retryCount - 1));
  return Math.round(base * (1 - policy.jitter * random()));
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
