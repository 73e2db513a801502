import {
  BehaviorSubject,
  EMPTY,
  Observable,
  Subject,
  catchError,
  exhaustMap,
  finalize,
  first,
  ignoreElements,
  tap,
  type Subscriber,
  type Subscription,
} from 'rxjs';
import { abortedError, closedError, type TokenError } from './errors.js';
import type { TokenEvent } from './events.js';
import { refresh } from './refresh.js';
import { MAX_TIMER_MS } from './options.js';
import { backgroundRetryAt } from './retry.js';
import { resolveStreamOptions, type GetTokenOptions, type StreamSetup, type TokenStreamOptions } from './stream-options.js';
import { isExpired, refreshDueAt, type RefreshReason, type Token } from './token.js';
import { Waiters } from './waiters.js';

export type { GetTokenOptions, TokenStreamOptions } from './stream-options.js';

/**
 * Not exported by the package: lets {@link TokenStreams} ask whether a stream may be evicted.
 */
export const isIdle: unique symbol = Symbol('rx-token-stream.isIdle');

/**
 * Not exported by the package: the token `getToken()` would resolve with at once, now, or
 * `undefined` when it would wait (none held, expired, closed). For a client adapter that
 * sends in the same turn when it can, as a fixed header would.
 */
export const freshToken: unique symbol = Symbol('rx-token-stream.freshToken');

/** How a refresh ended, handed to the stream once the lane has let go of it. */
type Outcome = { token: Token } | { error: TokenError };

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
   * subscribe; a missing or expired one is fetched first. A live subscriber is demand:
   * while one is subscribed, the stream refreshes the token in its refresh window (or at
   * its expiry) and emits the new one, without anyone calling `getToken()`. A subscriber
   * still waiting for its first token is errored when that refresh fails or the stream
   * closes; one that already holds a token is not (it completes on close).
   */
  readonly token$: Observable<Token>;
  /** What happens inside the stream, for logs and metrics. Never carries a token. */
  readonly events$: Observable<TokenEvent>;

  readonly #setup: StreamSetup;
  readonly #current$ = new BehaviorSubject<Token | undefined>(undefined);
  readonly #waiters = new Waiters();
  readonly #events = new Subject<TokenEvent>();
  readonly #triggers$ = new Subject<RefreshReason>();
  readonly #lane: Subscription;
  /** The one first() of token$ that every getToken() waiting on the same refresh shares. */
  #shared: Promise<Token> | undefined;
  /** The last token a refresh delivered: the source gets it as `previous`. */
  #last: Token | undefined;
  #dueAt = Infinity;
  #backgroundRetryAt = -Infinity;
  /** The timer that refreshes the token for live token$ subscribers (guarantee 16). */
  #keepFresh: Subscription | undefined;
  /** Whether a refresh runs. Only observed (by {@link isIdle}): exhaustMap is the gate. */
  #refreshing = false;
  /** Callers that came for a token since the last refresh ended: its events' `callers`. */
  #callers = 0;
  /** Set while getToken's own shared subscription is made, which is no caller of its own. */
  #sharing = false;
  #closed = false;

  /**
   * @throws {TypeError} when an option is missing or out of range; the message names it.
   */
  constructor(options: TokenStreamOptions) {
    this.#setup = resolveStreamOptions(options);
    this.events$ = this.#events.asObservable();
    this.token$ = new Observable<Token>((subscriber) => this.#subscribe(subscriber));
    // The one subscription to the held token, fanning each new one out to token$'s subscribers.
    this.#current$.subscribe((token) => {
      if (token !== undefined) this.#waiters.deliver(token, () => this.#current$.value === token);
    });
    // The single-flight gate (guarantee 1): exhaustMap drops every trigger that comes while
    // a refresh runs, so all of its callers share that refresh's result.
    this.#lane = this.#triggers$.pipe(exhaustMap((reason) => this.#run(reason))).subscribe();
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
    const fresh = this[freshToken]();
    if (fresh !== undefined) return Promise.resolve(fresh);
    this.#callers += 1;
    const shared = this.#shared ?? this.#share();
    if (signal === undefined) return shared;
    return new Promise<Token>((resolve, reject) => {
      const onAbort = (): void => reject(abortedError(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      shared.finally(() => signal.removeEventListener('abort', onAbort)).then(resolve, reject);
    });
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
      this.#triggers$.next('invalidated');
    } else {
      this.#publish({ type: 'invalidate-ignored', at: this.#setup.scheduler.now() });
    }
  }

  /**
   * Stops the stream: aborts a running source call, rejects every pending and later
   * `getToken()`, errors waiting `token$` subscribers with `ERR_TOKEN_CLOSED` and completes
   * the others and `events$`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#publish({ type: 'closed', at: this.#setup.scheduler.now() });
    this.#closed = true;
    this.#stopKeepFresh();
    this.#lane.unsubscribe();
    this.#waiters.closeAll(closedError());
    this.#current$.complete();
    this.#events.complete();
  }

  /** What getToken() resolves with at once: the held token while it is fresh (see {@link freshToken}). */
  [freshToken](): Token | undefined {
    const held = this.#current$.value;
    if (this.#closed || held === undefined) return undefined;
    const now = this.#setup.scheduler.now();
    if (isExpired(held, now)) return undefined;
    this.#refreshIfDue(now);
    return held;
  }

  /** Whether nothing waits on this stream, subscribes to it or refreshes it. */
  get [isIdle](): boolean {
    return this.#waiters.size === 0 && !this.#refreshing;
  }

  #subscribe(subscriber: Subscriber<Token>): void {
    if (this.#closed) return subscriber.error(closedError());
    const held = this.#current$.value;
    const now = this.#setup.scheduler.now();
    const fresh = held !== undefined && !isExpired(held, now);
    if (fresh) {
      subscriber.next(held);
      // The hot path, first() of a fresh token: nothing left to wait for, so nothing to register.
      if (subscriber.closed) return this.#refreshIfDue(now);
    }
    if (!fresh && !this.#sharing) this.#callers += 1;
    this.#waiters.add(subscriber, fresh, () => {
      if (this.#waiters.size === 0) this.#stopKeepFresh();
    });
    // A subscriber that invalidated the held token while taking it was not registered yet
    // when its replacement arrived synchronously: hand that one over now.
    const current = this.#current$.value;
    if (fresh && current !== held && current !== undefined && !isExpired(current, this.#setup.scheduler.now())) {
      subscriber.next(current);
    }
    this.#demand();
    // A missing or expired token is being refreshed now, and that refresh arms the timer.
    if (fresh && this.#keepFresh === undefined) this.#armKeepFresh();
  }

  /** Every getToken() waiting on the same refresh shares one first() of token$. */
  #share(): Promise<Token> {
    let settled = false;
    const shared = new Promise<Token>((resolve, reject) => {
      this.#sharing = true;
      try {
        this.token$
          .pipe(
            first(),
            finalize(() => {
              settled = true;
              this.#shared = undefined;
            }),
          )
          .subscribe({ next: resolve, error: reject });
      } finally {
        this.#sharing = false;
      }
    });
    // A synchronous source settles it before this line: then there is nothing to share.
    if (!settled) this.#shared = shared;
    return shared;
  }

  /** Someone needs a token now: refresh a missing or expired one, or a fresh one that is due. */
  #demand(): void {
    if (this.#closed) return;
    const token = this.#current$.value;
    const now = this.#setup.scheduler.now();
    if (token !== undefined && !isExpired(token, now)) return this.#refreshIfDue(now);
    this.#triggers$.next(token !== undefined ? 'expired' : this.#last !== undefined ? 'invalidated' : 'initial');
  }

  /** The held token is fresh at `now`: start a background refresh if it is in its window. */
  #refreshIfDue(now: number): void {
    if (now >= this.#dueAt && now >= this.#backgroundRetryAt) this.#triggers$.next('background');
  }

  /** One refresh, as the lane runs it. */
  #run(reason: RefreshReason): Observable<never> {
    let outcome: Outcome | undefined;
    this.#refreshing = true;
    const callers = (): number => {
      const served = this.#callers;
      this.#callers = 0;
      return served;
    };
    return refresh({ setup: this.#setup, publish: (event) => this.#publish(event), callers }, reason, this.#last).pipe(
      tap({ next: (token) => (outcome = { token }), error: (error: TokenError) => (outcome = { error }) }),
      ignoreElements(),
      catchError(() => EMPTY),
      // The outcome is handed out only once exhaustMap has let go of this refresh: a waiter
      // that rejects the new token at once (guarantee 15), or a failed background refresh
      // with callers waiting, then starts the next refresh through the same gate instead of
      // being dropped by it. On close (unsubscribed, no outcome) nothing is handed out.
      finalize(() => {
        this.#refreshing = false;
        if (outcome !== undefined && !this.#closed) this.#settle(reason, outcome);
      }),
    );
  }

  #settle(reason: RefreshReason, outcome: Outcome): void {
    const now = this.#setup.scheduler.now();
    if ('token' in outcome) {
      this.#last = outcome.token;
      this.#dueAt = refreshDueAt(outcome.token, now, this.#setup.refreshWindowMs);
      this.#backgroundRetryAt = -Infinity;
      this.#current$.next(outcome.token);
    } else {
      // The old token is still served until it expires; ask again no sooner than this.
      this.#backgroundRetryAt = backgroundRetryAt(this.#setup.retry, now);
      // Callers who came while the background attempt ran (their token expired meanwhile)
      // get a refresh of their own, with every retry, rather than that one attempt's error.
      if (reason === 'background' && this.#waiters.waiting) return this.#demand();
      this.#waiters.rejectWaiting(outcome.error);
    }
    this.#armKeepFresh();
  }

  /**
   * While token$ has subscribers, a timer stands for them at the next moment the token
   * needs a refresh: its window (or the retry gate after a failed one), or its expiry.
   * Without subscribers there is no timer (guarantee 11).
   */
  #armKeepFresh(): void {
    this.#stopKeepFresh();
    if (this.#closed || this.#waiters.size === 0) return;
    const at = this.#keepFreshAt();
    if (at === Infinity) return;
    const { scheduler } = this.#setup;
    this.#keepFresh = scheduler.schedule(() => {
      this.#keepFresh = undefined;
      // A timer may fire a little early on the wall clock: then it waits the rest.
      if (this.#keepFreshAt() > scheduler.now()) this.#armKeepFresh();
      else this.#demand();
      // A token good for months is due later than a timer can wait: it fires at the cap and
      // waits again, rather than at once (Node runs a longer timer after 1 ms).
    }, Math.min(MAX_TIMER_MS, Math.max(0, at - scheduler.now())));
  }

  #keepFreshAt(): number {
    const token = this.#current$.value;
    if (token === undefined || isExpired(token, this.#setup.scheduler.now())) return this.#backgroundRetryAt;
    return Math.min(token.expiresAt ?? Infinity, Math.max(this.#dueAt, this.#backgroundRetryAt));
  }

  #stopKeepFresh(): void {
    this.#keepFresh?.unsubscribe();
    this.#keepFresh = undefined;
  }

  #publish(event: TokenEvent): void {
    if (!this.#closed) this.#events.next(event);
  }
}
