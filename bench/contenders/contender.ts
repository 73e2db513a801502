import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { Token } from 'rx-token-stream';

/** One auth call: what every contender wraps. It resolves with a token that has an expiry. */
export type AuthCall = () => Promise<Token>;

/**
 * A way to hand a token to many concurrent callers. Every contender is written the way a
 * user of that pattern would write it, without tuning for the bench.
 */
export interface TokenClient {
  /** Resolves with a token that has not expired, calling `auth` when it must. */
  getToken(): Promise<Token>;
  /** Reports that `token` was rejected (a 401), so that the next caller gets another. */
  invalidate(token: Token): void;
  close(): void;
}

/** A named way to build a {@link TokenClient} around an auth call. */
export interface Contender {
  name: string;
  create(auth: AuthCall): TokenClient;
}

/**
 * The clock of every contender: the wall clock plus a skew the bench can move forward,
 * so that "the held token has expired" takes no real waiting.
 */
export const clock = {
  skewMs: 0,
  now(): number {
    return Date.now() + clock.skewMs;
  },
};

/** The RxJS scheduler that the library contenders get: the async scheduler on {@link clock}. */
export const clockScheduler: SchedulerLike = {
  now: () => clock.now(),
  schedule: asyncScheduler.schedule.bind(asyncScheduler),
};

/** Whether a contender should still serve `token`, on {@link clock}. */
export function isFresh(token: Token | undefined): token is Token {
  return token !== undefined && (token.expiresAt === undefined || token.expiresAt > clock.now());
}
