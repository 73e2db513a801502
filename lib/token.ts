import type { ObservableInput } from 'rxjs';

/**
 * An access token as a source hands it over.
 */
export interface Token {
  /** The token itself, sent as the credentials of `Authorization`. */
  value: string;
  /** When it expires, in epoch ms on the stream's scheduler clock. Absent: valid until invalidated. */
  expiresAt?: number;
  /**
   * The authorization scheme.
   * @default 'Bearer'
   */
  type?: string;
}

/** Why a refresh was started. */
export type RefreshReason = 'initial' | 'expired' | 'invalidated' | 'background';

/**
 * Something a source reports about itself (for example, `redisShared` falling back to
 * a direct call). The stream republishes it on `events$` as a `source` event.
 */
export interface SourceReport {
  /** A short stable name, such as `'redis-fallback'`. */
  kind: string;
  /** Free-form detail. Never put a token or a secret here. */
  detail?: string;
}

/** What the stream tells a source when it calls it. */
export interface TokenSourceContext {
  /** The token being replaced (rejected or expiring), if there was one. */
  previous?: Token;
  /** Aborted when the stream abandons this call (timeout or close). */
  signal: AbortSignal;
  /** Why the refresh runs. */
  reason: RefreshReason;
  /** Publishes a report on the stream's `events$`. */
  report: (report: SourceReport) => void;
}

/**
 * Where tokens come from: called once per refresh attempt, it returns a promise or an
 * observable of one token (only the first value is used).
 *
 * Its errors become the `cause` of `ERR_TOKEN_REFRESH`, which `util.inspect` shows, so
 * they must not hold a token or a secret. `retryable: false` on an error stops retries;
 * a numeric `retryAfterMs` sets the delay before the next attempt.
 */
export type TokenSource = (context: TokenSourceContext) => ObservableInput<Token>;

/** Whether `token` may still be served at `now`. */
export function isExpired(token: Token, now: number): boolean {
  return token.expiresAt !== undefined && token.expiresAt <= now;
}

/**
 * When a token that arrived at `receivedAt` should be refreshed in the background: at most
 * `windowMs` before expiry, and never earlier than half its lifetime, so that short-lived
 * tokens are not refreshed constantly. `Infinity` for a token without expiry.
 */
export function refreshDueAt(token: Token, receivedAt: number, windowMs: number): number {
  if (token.expiresAt === undefined) return Infinity;
  const lifetime = token.expiresAt - receivedAt;
  return token.expiresAt - Math.min(windowMs, Math.max(0, lifetime / 2));
}

/** Checks what a source returned; the message names the problem, never the value. */
export function checkToken(token: unknown, now: number): asserts token is Token {
  if (typeof token !== 'object' || token === null) {
    throw new TypeError('Token source must emit an object with a string `value`');
  }
  const { value, expiresAt, type } = token as Record<string, unknown>;
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError('Token `value` must be a non-empty string');
  }
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) {
    throw new TypeError('Token `expiresAt` must be a finite number (epoch ms)');
  }
  if (typeof expiresAt === 'number' && expiresAt <= now) {
    throw new TypeError('Token source returned a token that is already expired');
  }
  if (type !== undefined && (typeof type !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(type))) {
    throw new TypeError('Token `type` must be an HTTP auth scheme name');
  }
}
