import type { TokenError } from './errors.js';
import type { RefreshReason, SourceReport } from './token.js';

/** A refresh began: one source call lane is now busy. */
export interface RefreshStartEvent {
  type: 'refresh-start';
  reason: RefreshReason;
  /** Scheduler time. */
  at: number;
}

/** One attempt failed and another is scheduled. */
export interface RefreshRetryEvent {
  type: 'refresh-retry';
  reason: RefreshReason;
  /** The attempt that failed (1 for the first). */
  attempt: number;
  delayMs: number;
  error: unknown;
  at: number;
}

/** A refresh delivered a new token. */
export interface RefreshSuccessEvent {
  type: 'refresh-success';
  reason: RefreshReason;
  attempts: number;
  /**
   * How many callers it served: the `getToken()` calls and `token$` subscribers that came
   * for a token since the previous refresh ended (0 for a background refresh nobody waited on).
   */
  callers: number;
  durationMs: number;
  /** The new token's expiry, if it has one. The token itself is never in an event. */
  expiresAt: number | undefined;
  at: number;
}

/** A refresh gave up. Its waiters were rejected with `error`; a background one's were not. */
export interface RefreshFailureEvent {
  type: 'refresh-failure';
  reason: RefreshReason;
  attempts: number;
  /** How many callers came for the token it failed to bring (as {@link RefreshSuccessEvent.callers}). */
  callers: number;
  durationMs: number;
  error: TokenError;
  at: number;
}

/** `invalidate()` named a token that is no longer current (a late 401): nothing happened. */
export interface InvalidateIgnoredEvent {
  type: 'invalidate-ignored';
  at: number;
}

/**
 * The stream closed: by `close()`, or because a `TokenStreams` evicted its key. It holds
 * no token and runs no refresh any more; the last event of a stream.
 */
export interface StreamClosedEvent {
  type: 'closed';
  at: number;
}

/** A source reported something about itself (see {@link SourceReport}). */
export interface SourceEvent {
  type: 'source';
  report: SourceReport;
  at: number;
}

/** Everything the stream publishes on `events$`, told apart by `type`. */
export type TokenEvent =
  | RefreshStartEvent
  | RefreshRetryEvent
  | RefreshSuccessEvent
  | RefreshFailureEvent
  | InvalidateIgnoredEvent
  | SourceEvent
  | StreamClosedEvent;
