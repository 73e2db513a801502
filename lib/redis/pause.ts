import { firstValueFrom, map, Observable, race, timer, type SchedulerLike } from 'rxjs';

/**
 * Errors with the reason of the first of `signals` to abort (at once for one that already
 * has), and never emits. Its listeners go when it is unsubscribed, so that a long-lived
 * signal (the caller's, or the shared source's own) does not collect one per call.
 */
export function whenAborted(signals: AbortSignal[]): Observable<never> {
  return new Observable<never>((subscriber) => {
    const already = signals.find((signal) => signal.aborted);
    if (already !== undefined) {
      subscriber.error(already.reason);
      return undefined;
    }
    const onAbort = (event: Event): void => subscriber.error((event.target as AbortSignal).reason);
    for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
    return () => {
      for (const signal of signals) signal.removeEventListener('abort', onAbort);
    };
  });
}

/**
 * Waits `ms` on `scheduler`, or until `wake` emits: resolves with whether it was woken.
 * Rejects with the reason of an aborted signal. Leaves no timer and no listener behind.
 */
export function pause(
  ms: number,
  scheduler: SchedulerLike,
  signals: AbortSignal[],
  wake?: Observable<unknown>,
): Promise<boolean> {
  const elapsed = timer(Math.max(0, ms), scheduler).pipe(map(() => false));
  const woken = wake?.pipe(map(() => true));
  return firstValueFrom(race(whenAborted(signals), elapsed, ...(woken === undefined ? [] : [woken])));
}
