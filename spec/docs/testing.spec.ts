import { strict as assert } from 'node:assert';
import { catchError, first, map, of, throwError, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { isTokenError, type Token, type TokenSource, type TokenStream } from 'rx-token-stream';
import { ordersTokens } from './orders-tokens.js';

/** A scripted auth server: call n of the source gets reply n; a call too many fails. */
function scripted(...replies: Array<Observable<Token>>): TokenSource {
  let calls = 0;
  return () => replies[calls++] ?? throwError(() => new Error(`unexpected auth call #${calls}`));
}

// Virtual time starts at 0 and counts ms: expiresAt is read on the same clock.
const MINUTE = 60_000;
const A: Token = { value: 'A', expiresAt: 10 * MINUTE };
const B: Token = { value: 'B', expiresAt: 20 * MINUTE };
const values = { a: A, b: B };

describe('orders service token timing (docs/testing.md)', () => {
  let scheduler: TestScheduler;
  let tokens: TokenStream | undefined;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
  });
  afterEach(() => tokens?.close());

  it('makes one auth call for a burst of callers, then serves the token at once', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const reply$ = cold('100ms a|', values);
      tokens = ordersTokens(scripted(reply$), { scheduler });
      // Callers at 0 and 50 ms share the one call, answered at 100 ms; at 5 min no call.
      expectObservable(tokens.token$.pipe(first()), '^').toBe('100ms (a|)', values);
      expectObservable(tokens.token$.pipe(first()), '50ms ^').toBe('100ms (a|)', values);
      expectObservable(tokens.token$.pipe(first()), '5m ^').toBe('5m (a|)', values);
      expectSubscriptions(reply$.subscriptions).toBe('^ 99ms !');
    });
  });

  it('refreshes in the background during the last minute, serving the old token meanwhile', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const initial$ = cold('100ms a|', values);
      const background$ = cold('100ms b|', values);
      tokens = ordersTokens(scripted(initial$, background$), { scheduler });
      expectObservable(tokens.token$.pipe(first()), '^').toBe('100ms (a|)', values);
      // At 9 min, A enters its last minute: that caller still gets A at once, and the
      // background call it starts answers 100 ms later.
      expectObservable(tokens.token$.pipe(first()), '9m ^').toBe('9m (a|)', values);
      expectObservable(tokens.token$.pipe(first()), '9m 150ms ^').toBe('9m 150ms (b|)', values);
      expectSubscriptions(background$.subscriptions).toBe('9m ^ 99ms !');
    });
  });

  it('retries a failing auth server after 1 s, then after 2 s', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const down$ = cold<Token>('100ms #', undefined, new Error('503 Service Unavailable'));
      const up$ = cold('100ms a|', values);
      tokens = ordersTokens(scripted(down$, down$, up$), { scheduler, jitter: 0 });
      expectObservable(tokens.token$.pipe(first())).toBe('100ms 1s 100ms 2s 100ms (a|)', values);
      expectSubscriptions(down$.subscriptions).toBe(['^ 99ms !', '1100ms ^ 99ms !']);
      expectSubscriptions(up$.subscriptions).toBe('3200ms ^ 99ms !');
    });
  });

  it('gives up on an auth server that hangs: 5 s per attempt, then ERR_TOKEN_TIMEOUT', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const hang$ = cold<Token>('-');
      tokens = ordersTokens(scripted(hang$, hang$, hang$), { scheduler, jitter: 0 });
      const outcome$ = tokens.token$.pipe(
        first(),
        map((token) => token.value),
        catchError((error: unknown) => of(isTokenError(error) ? error.code : 'not a TokenError')),
      );
      expectObservable(outcome$).toBe('5s 1s 5s 2s 5s (e|)', { e: 'ERR_TOKEN_TIMEOUT' });
    });
  });

  it('lets code that awaits getToken() run its virtual time, then await', async () => {
    let both: Promise<Token[]> | undefined;
    scheduler.run(({ cold }) => {
      const reply$ = cold('100ms a|', values);
      tokens = ordersTokens(scripted(reply$), { scheduler });
      both = Promise.all([tokens.getToken(), tokens.getToken()]);
    });
    // run() has played every frame: the one auth call answered at 100 ms.
    assert.deepEqual(await both, [A, A]);
  });
});
