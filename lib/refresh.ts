/**
 * One refresh: the attempts it makes, the pauses between them, and what it tells `events$`.
 * The stream runs at most one at a time, through its exhaustMap lane.
 */
import { catchError, defer, retry, tap, throwError, timer, type Observable } from 'rxjs';
import { refreshError } from './errors.js';
import type { TokenEvent } from './events.js';
import { backoffDelay, isRetryable, retryAfterOf } from './retry.js';
import { callSource } from './source-call.js';
import type { StreamSetup } from './stream-options.js';
import type { RefreshReason, SourceReport, Token } from './token.js';

/** What a refresh needs of its stream. */
export interface RefreshContext {
  setup: StreamSetup;
  /** Publishes on the stream's `events$` (a closed stream ignores it). */
  publish: (event: TokenEvent) => void;
  /** How many callers this refresh serves (read, and so counted, once, when it ends). */
  callers: () => number;
}

/**
 * Calls the source until it hands over a token (checked, frozen), retrying a retryable
 * failure after its backoff or `Retry-After`. A background refresh makes one attempt:
 * nobody waits for it, and a retry timer would keep the process alive for nothing.
 *
 * @param previous the token being replaced, handed to the source.
 * @returns an Observable of the one new token; it errors with the final `TokenError`
 * (`ERR_TOKEN_TIMEOUT` or `ERR_TOKEN_REFRESH`, with `attempts`).
 */
export function refresh({ setup, publish, callers }: RefreshContext, reason: RefreshReason, previous: Token | undefined): Observable<Token> {
  const { source, scheduler, timeoutMs, retry: policy } = setup;
  return defer(() => {
    const startedAt = scheduler.now();
    let attempts = 0;
    const report = (sourceReport: SourceReport): void => publish({ type: 'source', report: sourceReport, at: scheduler.now() });
    publish({ type: 'refresh-start', reason, at: startedAt });
    return defer(() => {
      attempts += 1;
      return callSource(source, { ...(previous === undefined ? {} : { previous }), reason, report }, { timeoutMs, scheduler });
    }).pipe(
      retry({
        count: reason === 'background' ? 0 : policy.count,
        delay: (error: unknown, retryCount: number) => {
          if (!isRetryable(error)) return throwError(() => error);
          const delayMs = retryAfterOf(error) ?? backoffDelay(policy, retryCount);
          publish({ type: 'refresh-retry', reason, attempt: retryCount, delayMs, error, at: scheduler.now() });
          return timer(delayMs, scheduler);
        },
      }),
      tap((token) => {
        const at = scheduler.now();
        publish({ type: 'refresh-success', reason, attempts, callers: callers(), durationMs: at - startedAt, expiresAt: token.expiresAt, at });
      }),
      catchError((error: unknown) => {
        const at = scheduler.now();
        // The failure event carries the very error the waiters get.
        const final = refreshError(error, attempts);
        publish({ type: 'refresh-failure', reason, attempts, callers: callers(), durationMs: at - startedAt, error: final, at });
        return throwError(() => final);
      }),
    );
  });
}
