import {
  BehaviorSubject,
  EMPTY,
  Observable,
  Subject,
  asyncScheduler,
  catchError,
  defer,
  exhaustMap,
  finalize,
  first,
  map,
  retry,
  tap,
  throwError,
  timer,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
} from 'rxjs';
import { TokenError, abortedError, closedError, refreshError, timeoutError } from './errors.js';
import type { TokenEvent } from './events.js';
import { backoffDelay, isRetryable, retryAfterOf, validateOptions, type RetryOptions } from './options.js';
import { callSource } from './source-call.js';
import {
  isExpired,
  refreshDueAt,
  type RefreshReason,
  type SourceReport,
  type Token,
  type TokenSource,
} from './token.js';

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

type Phase = 'idle' | 'running' | 'settling';

/**
 * Holds one token for any number of concurrent callers and refreshes it through a single
 * lane: however many callers find it missing, expiring or rejected, the source is called
 * once and all of them get its result.
 *
 * @example
 * ```ts
 * const tokens = new TokenStream({ source: () => fetchToken() })
 * const token = await tokens.getToken()              // Promise
 * tokens.token$.pipe(first()).subscribe(use)         // Observable
 * tokens.invalidate(token)                           // after a 401
 * ```
 */
export class TokenStream {
  /**
   * The current token, then every new one. A fresh token is emitted synchronously on
   * subscribe; a missing or expired one is fetched first. A subscriber still waiting for
   * its first token is errored when that refresh fails or the stream closes; one that
   * already holds a token is not (it completes on close).
   */
  readonly token$: Observable<Token>;
  /** What happens inside the stream, for logs and metrics. Never carries a token. */
  readonly events$: Observable<TokenEvent>;

  readonly #source: TokenSource;
  readonly #scheduler: SchedulerLike;
  readonly #windowMs: number;
  readonly #timeoutMs: number;
  readonly #retry: Required<RetryOptions>;
  readonly #current$ = new BehaviorSubject<Token | undefined>(undefined);
  readonly #subscribers = new Set<{ subscriber: Subscriber<Token>; received: boolean }>();
  #shared: Promise<Token> | undefined;
  readonly #events = new Subject<TokenEvent>();
  readonly #triggers$ = new Subject<RefreshReason>();
  readonly #lane: Subscription;
  #phase: Phase = 'idle';
  #rerun: RefreshReason | undefined;
  #last: Token | undefined;
  #dueAt = Infinity;
  #backgroundRetryAt = -Infinity;
  #closed = false;

  /**
   * @throws {TypeError} when an option is missing or out of range; the message names it.
   */
  constructor(options: TokenStreamOptions) {
    const {
      source,
      refreshWindowMs = 60_000,
      timeoutMs = 10_000,
      retry: retryOptions = {},
      scheduler = asyncScheduler,
    } = validateOptions(options);
    const { count = 2, delayMs = 250, maxDelayMs = 5_000, jitter = 0.5 } = retryOptions;
    this.#source = source;
    this.#scheduler = scheduler;
    this.#windowMs = refreshWindowMs;
    this.#timeoutMs = timeoutMs;
    this.#retry = { count, delayMs, maxDelayMs, jitter };
    this.events$ = this.#events.asObservable();
    this.token$ = new Observable<Token>((subscriber) => {
      if (this.#closed) {
        subscriber.error(closedError());
        return;
      }
      const held = this.#current$.value;
      const now = this.#scheduler.now();
      const fresh = held !== undefined && !isExpired(held, now);
      if (fresh) {
        subscriber.next(held);
        // The hot path, first() of a fresh token: nothing left to wait for, so nothing to register.
        if (subscriber.closed) return this.#refreshIfDue(now);
      }
      const entry = { subscriber, received: fresh };
      this.#subscribers.add(entry);
      subscriber.add(() => this.#subscribers.delete(entry));
      // A subscriber that invalidated the held token while taking it was not registered yet
      // when its replacement arrived synchronously: hand that one over now.
      const current = this.#current$.value;
      if (fresh && current !== held && current !== undefined && !isExpired(current, this.#scheduler.now())) {
        subscriber.next(current);
      }
      this.#demand();
    });
    // The one subscription to the held token: it fans each new token out to token$'s
    // subscribers through a Set, so that releasing N waiters costs O(N), not O(N²).
    this.#current$.subscribe((token) => {
      if (token === undefined) return;
      for (const entry of [...this.#subscribers]) {
        // A subscriber that invalidated this token while it was being handed out has made
        // it stale: the others wait for its replacement instead of getting a rejected token.
        if (this.#current$.value !== token) break;
        if (entry.subscriber.closed) continue;
        entry.received = true;
        entry.subscriber.next(token);
      }
    });
    this.#lane = this.#triggers$.pipe(exhaustMap((reason) => this.#refresh(reason))).subscribe();
  }

  /**
   * Resolves with a token that is not expired: at once when one is held, otherwise after
   * the one shared refresh.
   *
   * @throws {TokenError} `ERR_TOKEN_REFRESH` or `ERR_TOKEN_TIMEOUT` when the refresh fails,
   * `ERR_TOKEN_ABORTED` when `signal` aborts, `ERR_TOKEN_CLOSED` after {@link close}.
   */
  getToken(options: GetTokenOptions = {}): Promise<Token> {
    const { signal } = options;
    if (this.#closed) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(abortedError(signal.reason));
    const held = this.#current$.value;
    const now = this.#scheduler.now();
    if (held !== undefined && !isExpired(held, now)) {
      this.#refreshIfDue(now);
      return Promise.resolve(held);
    }
    // Every waiter shares one first() of token$: one subscription, however many callers.
    const shared = this.#shared ?? this.#share();
    if (signal === undefined) return shared;
    return new Promise<Token>((resolve, reject) => {
      const onAbort = (): void => reject(abortedError(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      shared
        .finally(() => signal.removeEventListener('abort', onAbort))
        .then(resolve, reject);
    });
  }

  /** One first() of token$ for every getToken() waiting on the same refresh. */
  #share(): Promise<Token> {
    let settled = false;
    const shared = new Promise<Token>((resolve, reject) => {
      this.token$
        .pipe(
          first(),
          finalize(() => {
            settled = true;
            this.#shared = undefined;
          }),
        )
        .subscribe({ next: resolve, error: reject });
    });
    // A synchronous source settles it before this line: then there is nothing to share.
    if (!settled) this.#shared = shared;
    return shared;
  }

  /**
   * Reports that `token` was rejected (a 401). It starts one refresh if `token` is still
   * the current one, and the source gets it as `previous`. A token already replaced is
   * ignored (an `invalidate-ignored` event), so a burst of late 401s costs one refresh.
   *
   * @throws {TypeError} when `token` is neither a token nor its string value.
   */
  invalidate(token: Token | string): void {
    const value = typeof token === 'string' ? token : (token as Token | undefined)?.value;
    if (typeof value !== 'string') {
      throw new TypeError('invalidate(token): `token` must be a Token or its string value');
    }
    if (this.#closed) return;
    if (this.#current$.value?.value === value) {
      this.#current$.next(undefined);
      this.#request('invalidated');
    } else {
      this.#events.next({ type: 'invalidate-ignored', at: this.#scheduler.now() });
    }
  }

  /**
   * Stops the stream: aborts a running source call, rejects every pending and later
   * `getToken()`, errors waiting `token$` subscribers with `ERR_TOKEN_CLOSED` and completes
   * the others and `events$`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lane.unsubscribe();
    this.#notify(closedError(), true);
    this.#current$.complete();
    this.#events.complete();
  }

  #demand(): void {
    if (this.#closed) return;
    const token = this.#current$.value;
    const now = this.#scheduler.now();
    if (token !== undefined && !isExpired(token, now)) return this.#refreshIfDue(now);
    this.#request(token !== undefined ? 'expired' : this.#last !== undefined ? 'invalidated' : 'initial');
  }

  /** The held token is fresh at `now`: start a background refresh if it is in its window. */
  #refreshIfDue(now: number): void {
    if (now >= this.#dueAt && now >= this.#backgroundRetryAt) this.#request('background');
  }

  #request(reason: RefreshReason): void {
    if (this.#phase === 'idle') this.#triggers$.next(reason);
    // exhaustMap drops a trigger made while the finished refresh is still delivering its
    // result (a waiter that invalidates the new token at once): remember it for later.
    else if (this.#phase === 'settling') this.#rerun ??= reason;
  }

  #refresh(reason: RefreshReason): Observable<never> {
    this.#phase = 'running';
    const startedAt = this.#scheduler.now();
    const previous = this.#last;
    let attempts = 0;
    this.#events.next({ type: 'refresh-start', reason, at: startedAt });
    return defer(() => {
      attempts += 1;
      return this.#attempt(reason, previous);
    }).pipe(
      retry({
        // Nobody waits for a background refresh: the next demand after the retry delay
        // tries again, so it holds no retry timer that could keep the process alive.
        count: reason === 'background' ? 0 : this.#retry.count,
        delay: (error: unknown, retryCount: number) => {
          if (!isRetryable(error)) return throwError(() => error);
          const delayMs = retryAfterOf(error) ?? backoffDelay(this.#retry, retryCount);
          this.#events.next({ type: 'refresh-retry', reason, attempt: retryCount, delayMs, error, at: this.#scheduler.now() });
          return timer(delayMs, this.#scheduler);
        },
      }),
      tap({
        next: (token) => this.#succeed(token, reason, startedAt, attempts),
        error: (error: unknown) => this.#fail(error, reason, startedAt, attempts),
      }),
      catchError(() => EMPTY),
      finalize(() => {
        this.#phase = 'idle';
        const rerun = this.#rerun;
        this.#rerun = undefined;
        if (rerun !== undefined && !this.#closed) this.#demand();
      }),
      map(() => undefined as never),
    );
  }

  #attempt(reason: RefreshReason, previous: Token | undefined): Observable<Token> {
    const report = (sourceReport: SourceReport): void => {
      if (!this.#closed) this.#events.next({ type: 'source', report: sourceReport, at: this.#scheduler.now() });
    };
    return callSource(this.#source, { ...(previous === undefined ? {} : { previous }), reason, report }, {
      timeoutMs: this.#timeoutMs,
      scheduler: this.#scheduler,
    });
  }

  #succeed(token: Token, reason: RefreshReason, startedAt: number, attempts: number): void {
    const now = this.#scheduler.now();
    this.#phase = 'settling';
    this.#last = token;
    this.#dueAt = refreshDueAt(token, now, this.#windowMs);
    this.#backgroundRetryAt = -Infinity;
    this.#events.next({
      type: 'refresh-success',
      reason,
      attempts,
      durationMs: now - startedAt,
      expiresAt: token.expiresAt,
      at: now,
    });
    this.#current$.next(token);
  }

  #fail(error: unknown, reason: RefreshReason, startedAt: number, attempts: number): void {
    const now = this.#scheduler.now();
    this.#phase = 'settling';
    const final =
      error instanceof TokenError && error.code === 'ERR_TOKEN_TIMEOUT'
        ? timeoutError(this.#timeoutMs, attempts)
        : refreshError(error, attempts);
    // The old token is still served until it expires; ask again no sooner than the retry delay.
    this.#backgroundRetryAt = now + this.#retry.delayMs;
    this.#events.next({ type: 'refresh-failure', reason, attempts, durationMs: now - startedAt, error: final, at: now });
    // Callers who came while the background attempt ran (their token expired meanwhile)
    // get a refresh of their own, with every retry, rather than that one attempt's error.
    if (reason === 'background' && this.#waiting()) this.#rerun = 'expired';
    else this.#notify(final, false);
  }

  #waiting(): boolean {
    for (const { received } of this.#subscribers) if (!received) return true;
    return false;
  }

  /** Errors every subscriber still waiting for its first token; on close, completes the rest. */
  #notify(error: TokenError, closing: boolean): void {
    for (const { subscriber, received } of [...this.#subscribers]) {
      if (!received) subscriber.error(error);
      else if (closing) subscriber.complete();
    }
  }
}
