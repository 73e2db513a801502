import { defer, finalize, map, take, tap, throwError, throwIfEmpty, timeout, type Observable, type SchedulerLike } from 'rxjs';
import { invalidTokenError, timeoutError } from './errors.js';
import { checkToken, type Token, type TokenSource, type TokenSourceContext } from './token.js';

/** How one source call is bounded. */
export interface SourceCallLimits {
  /** The call is abandoned, its signal aborted, after this long. */
  timeoutMs: number;
  /** The clock of the expiry check and the timer of the timeout. */
  scheduler: SchedulerLike;
}

/**
 * One attempt: calls `source` once and emits its first token, checked, then completes.
 * A call that is abandoned before it settles (timeout, unsubscribe on close) has its
 * `signal` aborted, so that the HTTP request behind it is really cancelled.
 */
export function callSource(
  source: TokenSource,
  context: Omit<TokenSourceContext, 'signal' | 'deadline'>,
  { timeoutMs, scheduler }: SourceCallLimits,
): Observable<Token> {
  return defer(() => {
    const controller = new AbortController();
    let settled = false;
    const deadline = scheduler.now() + timeoutMs;
    return defer(() => source({ ...context, signal: controller.signal, deadline })).pipe(
      take(1),
      throwIfEmpty(() => invalidTokenError('it completed without one')),
      map((token) => checkToken(token, scheduler.now())),
      tap({ next: () => (settled = true), error: () => (settled = true) }),
      finalize(() => {
        if (!settled) controller.abort();
      }),
      timeout({ first: timeoutMs, scheduler, with: () => throwError(() => timeoutError(timeoutMs)) }),
    );
  });
}
