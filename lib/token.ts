import type { ObservableInput } from 'rxjs';
import { invalidTokenError } from './errors.js';

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
  /**
   * When the server wants it refreshed, in epoch ms on the stream's clock (Entra's
   * `refresh_in`): the background refresh starts no later than this, whatever the window.
   */
  refreshAt?: number;
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
  /**
   * When the stream abandons this call, in scheduler time (epoch ms with the default
   * scheduler): a wrapping source (`redisShared`) bounds its own waits by it. A stream
   * always sets it; it is optional so that a source can be called on its own.
   */
  deadline?: number;
  /** Why the refresh runs. */
  reason: RefreshReason;
  /** The key this call fetches a token for, in a `TokenStreams`; absent in a lone `TokenStream`. */
  key?: string;
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

/** Whether `token` has expired at `now`: from its `expiresAt` on, it is no longer served. */
export function isExpired(token: Token, now: number): boolean {
  return token.expiresAt !== undefined && token.expiresAt <= now;
}

/**
 * When a token that arrived at `receivedAt` should be refreshed in the background: at most
 * `windowMs` before expiry, and never earlier than half its lifetime, so that short-lived
 * tokens are not refreshed constantly; or at its `refreshAt`, when the server asked for an
 * earlier one. `Infinity` for a token without either.
 */
export function refreshDueAt(token: Token, receivedAt: number, windowMs: number): number {
  const asked = token.refreshAt ?? Infinity;
  if (token.expiresAt === undefined) return asked;
  const lifetime = token.expiresAt - receivedAt;
  return Math.min(asked, token.expiresAt - Math.min(windowMs, Math.max(0, lifetime / 2)));
}

// An auth scheme (RFC 9110 11.1): a token of tchars.
const SCHEME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII with inner spaces and tabs: what every fetch accepts in a header value, so
// that a token with CR, LF or non-ASCII is refused where it enters, never held.
const HEADER_VALUE = /^[\x21-\x7e](?:[\t\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * The one rule of what a token is, used by everything that produces, stores, reads or sends
 * one. Returns why `token` is not a usable token at `now`, or undefined when it is. The
 * reason names the problem, never the value.
 *
 * @param now scheduler time for the expiry check; omit it to check the shape only.
 */
export function tokenProblem(token: unknown, now?: number): string | undefined {
  if (typeof token !== 'object' || token === null) return 'a token must be an object with a string `value`';
  const { value, expiresAt, type } = token as Record<string, unknown>;
  if (typeof value !== 'string' || value.length === 0) return 'token `value` must be a non-empty string';
  if (!HEADER_VALUE.test(value)) return 'token `value` has characters an HTTP header cannot carry';
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) {
    return 'token `expiresAt` must be a finite number (epoch ms)';
  }
  if (type !== undefined && (typeof type !== 'string' || !SCHEME.test(type))) {
    return 'token `type` must be an HTTP auth scheme name';
  }
  const { refreshAt } = token as Record<string, unknown>;
  if (refreshAt !== undefined && (typeof refreshAt !== 'number' || !Number.isFinite(refreshAt))) {
    return 'token `refreshAt` must be a finite number (epoch ms)';
  }
  if (now !== undefined && typeof expiresAt === 'number' && expiresAt <= now) return 'the token is already expired';
  return undefined;
}

/**
 * Checks what a source returned and returns a frozen copy of its token fields (`value`,
 * `expiresAt`, `type`): the stream holds and hands out that copy, so a source that later
 * mutates or reuses its object changes nothing that was handed out, and fields a source
 * attaches never travel further.
 *
 * @throws {TypeError} `retryable: false`, whose message names the problem, never the value.
 */
export function checkToken(token: unknown, now: number): Token {
  const problem = tokenProblem(token, now);
  if (problem !== undefined) throw invalidTokenError(problem);
  const { value, expiresAt, type, refreshAt } = token as Token;
  return Object.freeze({
    value,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(type === undefined ? {} : { type }),
    ...(refreshAt === undefined ? {} : { refreshAt }),
  });
}
