import { Observable, Subject, defer, finalize, type Subscription } from 'rxjs';
import { closedError } from './errors.js';
import type { TokenEvent } from './events.js';
import { isKey, isPositiveFinite, isTimerDelay, optionChecker, MAX_TIMER_MS } from './options.js';
import { resolveStreamOptions, type GetTokenOptions, type TokenStreamOptions } from './stream-options.js';
import type { Token } from './token.js';
import { TokenStream, isIdle } from './token-stream.js';

/** How a {@link TokenStreams} is set up: every {@link TokenStreamOptions} field, per key, and its bounds. */
export interface TokenStreamsOptions extends TokenStreamOptions {
  /**
   * How many keys are held at most. Beyond it, idle keys are evicted, least recently used
   * first. A key with a pending `getToken`, a live `token$` subscriber or a refresh running
   * is never evicted, so while more keys than this are busy at once, more are held.
   * @default 10_000
   */
  maxKeys?: number;
  /**
   * A key unused this long is evicted (lazily, on a later call: no timer is kept for it).
   * @default 900_000 (15 minutes)
   */
  idleMs?: number;
}

/** Every {@link TokenEvent} of a {@link TokenStreams}, with the key it concerns. */
export type KeyedTokenEvent = TokenEvent & {
  /** The key whose stream published the event. */
  key: string;
};

/**
 * One key's view of a {@link TokenStreams}: what `authFetch` and `authorized` need. It does
 * not pin the key's stream: each call finds the key again, so a handle held for days keeps
 * working after its stream was evicted (the next call makes one new source call).
 */
export interface TokenStreamHandle {
  getToken(options?: GetTokenOptions): Promise<Token>;
  invalidate(token: Token | string): void;
  readonly token$: Observable<Token>;
}

interface Held {
  readonly stream: TokenStream;
  readonly events: Subscription;
  lastUsedAt: number;
}

const check = optionChecker('TokenStreams');

function checkKey(key: unknown): asserts key is string {
  if (!isKey(key)) throw new TypeError('TokenStreams: `key` must be a non-empty string without NUL or lone surrogates');
}

/**
 * A bounded map of {@link TokenStream}s by key (a tenant, a user, an audience), each with
 * every guarantee of a lone stream: one source call per key per rotation, and a token
 * fetched for one key never served for another. The source is called with the key in its
 * context (`context.key`), so one source serves every key.
 *
 * @example
 * ```ts
 * const streams = new TokenStreams({ source: ({ key, signal }) => fetchTokenFor(key, signal) })
 * const token = await streams.getToken('tenant-42')
 * const fetch = authFetch(streams.for('tenant-42'), { origins: ['https://api.example.com'] })
 * ```
 */
export class TokenStreams {
  /** Every event of every key's stream, with `key`. Never carries a token. */
  readonly events$: Observable<KeyedTokenEvent>;

  readonly #options: TokenStreamOptions;
  readonly #maxKeys: number;
  readonly #idleMs: number;
  readonly #now: () => number;
  // In order of last use, least recent first (a Map keeps insertion order; a use re-inserts).
  readonly #held = new Map<string, Held>();
  readonly #events = new Subject<KeyedTokenEvent>();
  #closed = false;

  /** @throws {TypeError} when an option is missing or out of range; the message names it. */
  constructor(options: TokenStreamsOptions) {
    // The stream options are checked once here, not at each key's first use.
    const { scheduler } = resolveStreamOptions(options, 'TokenStreams');
    const { maxKeys = 10_000, idleMs = 900_000, ...streamOptions } = options;
    check(Number.isInteger(maxKeys) && maxKeys > 0, 'maxKeys', 'an integer > 0');
    check(isTimerDelay(idleMs) && isPositiveFinite(idleMs), 'idleMs', `a number from 1 to ${MAX_TIMER_MS}`);
    this.#options = { ...streamOptions, ...(streamOptions.retry === undefined ? {} : { retry: { ...streamOptions.retry } }) };
    this.#maxKeys = maxKeys;
    this.#idleMs = idleMs;
    this.#now = () => scheduler.now();
    this.events$ = this.#events.asObservable();
  }

  /** How many keys are held now. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * A token for `key`, as {@link TokenStream.getToken}.
   * @throws {TypeError} when `key` is not a non-empty string.
   */
  getToken(key: string, options?: GetTokenOptions): Promise<Token> {
    checkKey(key);
    if (this.#closed) return Promise.reject(closedError());
    return this.#stream(key).getToken(options);
  }

  /**
   * Reports that `token` was rejected for `key`, as {@link TokenStream.invalidate}. A key
   * not held (never used, or evicted) holds no token to invalidate: nothing happens.
   * @throws {TypeError} when `key` or `token` is unusable.
   */
  invalidate(key: string, token: Token | string): void {
    checkKey(key);
    const held = this.#held.get(key);
    if (held === undefined) {
      if (typeof token !== 'string' && typeof (token as Token | undefined)?.value !== 'string') {
        throw new TypeError('invalidate(token): `token` must be a Token or its string value');
      }
      return;
    }
    this.#touch(key, held);
    held.stream.invalidate(token);
  }

  /**
   * The token of `key` and every new one, as {@link TokenStream.token$}. The key's stream
   * is found when it is subscribed, and held while the subscription lasts.
   * @throws {TypeError} when `key` is not a non-empty string.
   */
  token$(key: string): Observable<Token> {
    checkKey(key);
    return defer(() => {
      if (this.#closed) throw closedError();
      return this.#stream(key).token$.pipe(finalize(() => this.#release(key)));
    });
  }

  /** A handle on `key` for `authFetch`, `authorized` and adapters. It does not pin the stream. */
  for(key: string): TokenStreamHandle {
    checkKey(key);
    return {
      getToken: (options) => this.getToken(key, options),
      invalidate: (token) => this.invalidate(key, token),
      token$: this.token$(key),
    };
  }

  /** Closes every key's stream (see {@link TokenStream.close}) and completes `events$`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const key of [...this.#held.keys()]) this.#evict(key);
    this.#events.complete();
  }

  #stream(key: string): TokenStream {
    const now = this.#now();
    let held = this.#held.get(key);
    if (held === undefined) {
      const source = this.#options.source;
      const stream = new TokenStream({ ...this.#options, source: (context) => source({ ...context, key }) });
      const events = stream.events$.subscribe((event) => this.#events.next({ ...event, key }));
      held = { stream, events, lastUsedAt: now };
      this.#held.set(key, held);
    } else {
      this.#touch(key, held, now);
    }
    this.#trim(now, key);
    return held.stream;
  }

  #touch(key: string, held: Held, now = this.#now()): void {
    held.lastUsedAt = now;
    this.#held.delete(key);
    this.#held.set(key, held);
  }

  // A subscription that ended counts as a use: the idle time runs from then.
  #release(key: string): void {
    const held = this.#held.get(key);
    if (held !== undefined) held.lastUsedAt = this.#now();
  }

  /**
   * Evicts idle keys from the least recently used end: those over `maxKeys`, and those
   * unused for `idleMs`. A busy key met on the way is in use, so it counts as used now and
   * moves to the recent end: one long-lived subscriber does not shelter the keys behind it.
   * Each key is looked at once per call at most, and a call with nothing to evict looks at
   * one key only.
   */
  #trim(now: number, keep: string): void {
    let budget = this.#held.size;
    for (const [key, held] of this.#held) {
      if (budget-- <= 0) return;
      const over = this.#held.size > this.#maxKeys;
      const stale = now - held.lastUsedAt >= this.#idleMs;
      if (!over && !stale) return;
      if (key !== keep && held.stream[isIdle]) this.#evict(key);
      else this.#touch(key, held, now);
    }
  }

  #evict(key: string): void {
    const held = this.#held.get(key);
    if (held === undefined) return;
    this.#held.delete(key);
    // Closed first, so that its `closed` event reaches events$ with the key.
    held.stream.close();
    held.events.unsubscribe();
  }
}
