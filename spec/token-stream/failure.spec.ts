import { expect } from 'chai';
import sinon from 'sinon';
import { catchError, first, map, of, type Observable } from 'rxjs';
import { TokenError, TokenStream, isTokenError, type Token, type TokenSourceContext } from 'rx-token-stream';
import { answering, marbles } from '../support/marbles.js';

const B: Token = { value: 'B' };

/** The first token of `token$`, or the code, attempts and cause of its error, as a string. */
function outcome(token$: Observable<Token>, cause?: unknown): Observable<string> {
  return token$.pipe(
    first(),
    map((token) => token.value),
    catchError((error: unknown) =>
      of(isTokenError(error) ? `${error.code}/${error.attempts}${error.cause === cause && cause !== undefined ? '/cause' : ''}` : 'foreign'),
    ),
  );
}

describe('TokenStream failures', () => {
  afterEach(() => sinon.restore());

  describe('6. retries with backoff', () => {
    it('retries retry.count times with exponential backoff capped at maxDelayMs, then rejects with the cause', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
        const boom = new Error('auth server down');
        const failing$ = cold<Token>('-#', {}, boom);
        const tokens = stream({ source: () => failing$, retry: { count: 3, delayMs: 10, maxDelayMs: 15, jitter: 0 } });
        // Attempts at 0, 1+10, 12+15 (20 capped), 28+15: the last fails at 44.
        expectObservable(outcome(tokens.token$, boom)).toBe('44ms (x|)', { x: 'ERR_TOKEN_REFRESH/4/cause' });
        expectSubscriptions(failing$.subscriptions).toBe(['^!', '11ms ^!', '27ms ^!', '43ms ^!']);
      });
    });

    it('uses count 2, delayMs 250 and maxDelayMs 5000 by default', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
        const failing$ = cold<Token>('-#');
        const tokens = stream({ source: () => failing$, retry: { jitter: 0 } });
        expectObservable(outcome(tokens.token$)).toBe('753ms (x|)', { x: 'ERR_TOKEN_REFRESH/3' });
        expectSubscriptions(failing$.subscriptions).toBe(['^!', '251ms ^!', '752ms ^!']);
        const capped$ = cold<Token>('-#');
        const capped = stream({ source: () => capped$, retry: { jitter: 0, count: 6 } });
        // 250, 500, 1000, 2000, 4000, then 5000 instead of 8000.
        expectObservable(outcome(capped.token$), '20000ms ^').toBe('32757ms (x|)', { x: 'ERR_TOKEN_REFRESH/7' });
      });
    });

    it('shortens each delay by up to jitter times itself, drawn from Math.random', () => {
      sinon.stub(Math, 'random').returns(1);
      marbles(({ cold, expectSubscriptions, expectObservable, stream }) => {
        const failing$ = cold<Token>('-#');
        const tokens = stream({ source: () => failing$, retry: { delayMs: 100 } });
        // Default jitter 0.5 at its maximum: 50 instead of 100, 100 instead of 200.
        expectObservable(outcome(tokens.token$)).toBe('153ms (x|)', { x: 'ERR_TOKEN_REFRESH/3' });
        expectSubscriptions(failing$.subscriptions).toBe(['^!', '51ms ^!', '152ms ^!']);
      });
    });

    it('does not retry an error whose retryable is false', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
        const fatal = Object.assign(new Error('invalid_client'), { retryable: false });
        const failing$ = cold<Token>('--#', {}, fatal);
        const tokens = stream({ source: () => failing$ });
        expectObservable(outcome(tokens.token$, fatal)).toBe('2ms (x|)', { x: 'ERR_TOKEN_REFRESH/1/cause' });
        expectSubscriptions(failing$.subscriptions).toBe('^-!');
      });
    });

    it('waits retryAfterMs instead of the backoff when the error asks for it', () => {
      marbles(({ cold, expectSubscriptions, stream, events, scheduler }) => {
        const limited = Object.assign(new Error('429'), { retryAfterMs: 100 });
        const failing$ = cold<Token>('-#', {}, limited);
        const tokens = stream({ source: () => failing$, retry: { count: 1, jitter: 0 } });
        tokens.token$.subscribe({ error: () => undefined });
        expectSubscriptions(failing$.subscriptions).toBe(['^!', '101ms ^!']);
        scheduler.schedule(() => {
          const retries = events.flatMap((e) => (e.type === 'refresh-retry' ? [[e.attempt, e.delayMs, e.at]] : []));
          expect(retries).to.deep.equal([[1, 100, 1]]);
        }, 200);
      });
    });

    it('rejects every waiter of the failed refresh with the same error, then starts afresh on the next demand', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream, scheduler }) => {
        const failing$ = cold<Token>('-#', {}, new Error('down'));
        const ok$ = cold('-b|', { b: B });
        const source = answering(failing$, ok$);
        const tokens = stream({ source, retry: { count: 0 } });
        const errors: unknown[] = [];
        const waiter = { error: (error: unknown) => errors.push(error) };
        tokens.token$.subscribe(waiter);
        scheduler.schedule(() => tokens.token$.subscribe(waiter), 0);
        const rejected = tokens.getToken().catch((error: unknown) => errors.push(error));
        expectObservable(outcome(tokens.token$), '5ms ^').toBe('5ms -(b|)', { b: 'B' });
        expectSubscriptions(failing$.subscriptions).toBe('^!');
        expectSubscriptions(ok$.subscriptions).toBe('5ms ^!');
        scheduler.schedule(() => {
          expect(errors).to.have.length(2);
          expect(errors[0]).to.equal(errors[1]);
          void rejected.then(() => expect(errors).to.have.length(3));
        }, 10);
      });
    });
  });

  describe('7. timeout', () => {
    it('abandons a source call after timeoutMs, aborts its signal and counts it as a failed attempt', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream, scheduler }) => {
        const silent$ = cold<Token>('-');
        const contexts: TokenSourceContext[] = [];
        const tokens = stream({
          source: (context) => {
            contexts.push(context);
            return silent$;
          },
          timeoutMs: 5,
          retry: { count: 1, delayMs: 10, jitter: 0 },
        });
        expectObservable(outcome(tokens.token$)).toBe('20ms (x|)', { x: 'ERR_TOKEN_TIMEOUT/2' });
        expectSubscriptions(silent$.subscriptions).toBe(['^----!', '15ms ^----!']);
        scheduler.schedule(() => expect(contexts.map((c) => c.signal.aborted)).to.deep.equal([true]), 6);
        scheduler.schedule(() => expect(contexts.map((c) => c.signal.aborted)).to.deep.equal([true, true]), 21);
      });
    });

    it('times out after 10,000 ms by default', () => {
      marbles(({ cold, expectObservable, stream }) => {
        const tokens = stream({ source: () => cold<Token>('-'), retry: { count: 0 } });
        expectObservable(outcome(tokens.token$)).toBe('10000ms (x|)', { x: 'ERR_TOKEN_TIMEOUT/1' });
      });
    });

    it('does not abort the signal of a source call that answered in time', () => {
      marbles(({ cold, expectObservable, stream, scheduler }) => {
        let signal: AbortSignal | undefined;
        const tokens = stream({
          source: (context) => {
            signal = context.signal;
            return cold('----b|', { b: B });
          },
          timeoutMs: 5,
        });
        expectObservable(outcome(tokens.token$)).toBe('----(b|)', { b: 'B' });
        scheduler.schedule(() => expect(signal?.aborted).to.equal(false), 50);
      });
    });

    it('succeeds on a retry after a timed-out attempt', () => {
      marbles(({ cold, expectObservable, stream }) => {
        const source = answering(cold<Token>('-'), cold('-b|', { b: B }));
        const tokens = stream({ source, timeoutMs: 5, retry: { delayMs: 10, jitter: 0 } });
        expectObservable(outcome(tokens.token$)).toBe('16ms (b|)', { b: 'B' });
      });
    });
  });
});

describe('TokenStream failures: what the caller is told', () => {
  it("keeps a source's own ERR_TOKEN_TIMEOUT as the cause, not the stream's timeout message", async () => {
    const own = new TokenError('ERR_TOKEN_TIMEOUT', 'No shared token from the process holding the lock within 5 ms');
    const tokens = new TokenStream({ source: () => Promise.reject(own), retry: { count: 0 } });
    const error: unknown = await tokens.getToken().catch((e: unknown) => e);
    expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_TIMEOUT');
    expect((error as Error).cause).to.equal(own);
    expect((error as Error).message).to.not.include('did not answer within');
    expect((error as Error).message).to.include('the source timed out');
    tokens.close();
  });

  it("says the stream's own timeout in its message, with no cause", () => {
    marbles(({ cold, expectObservable, stream }) => {
      const tokens = stream({ source: () => cold<Token>('-'), timeoutMs: 5, retry: { count: 0 } });
      const error$ = tokens.token$.pipe(
        first(),
        map(() => 'token'),
        catchError((error: TokenError) => of(`${error.code}|${error.message}|${String(error.cause)}`)),
      );
      expectObservable(error$).toBe('5ms (x|)', { x: 'ERR_TOKEN_TIMEOUT|Token source did not answer within 5 ms|undefined' });
    });
  });

  const unusable: Array<[string, unknown, RegExp]> = [
    ['a string', 'secret-token', /must be an object/],
    ['an empty value', { value: '' }, /`value` must be a non-empty string/],
    ['a value with CR/LF', { value: 'secret-token\r\nX: 1' }, /header cannot carry/],
    ['an expired token', { value: 'secret-token', expiresAt: 1 }, /already expired/],
    ['a bad scheme', { value: 'secret-token', type: 'Bearer x' }, /auth scheme/],
  ];
  for (const [what, returned, reason] of unusable) {
    it(`fails after one attempt, saying why in the message, for ${what}`, async () => {
      let calls = 0;
      const tokens = new TokenStream({
        source: async () => {
          calls += 1;
          return returned as Token;
        },
        retry: { count: 3, delayMs: 0 },
      });
      const error: unknown = await tokens.getToken().catch((e: unknown) => e);
      expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_REFRESH');
      expect((error as Error).message).to.match(reason);
      expect((error as Error).message).to.not.include('secret-token');
      expect(JSON.stringify(error)).to.not.include('secret-token');
      expect(calls).to.equal(1);
      tokens.close();
    });
  }

  it('says "pass { source }" when given a bare function', () => {
    const source = async (): Promise<Token> => ({ value: 'x' });
    expect(() => new TokenStream(source as never)).to.throw(TypeError, /pass `\{ source \}`/);
  });
});

describe('TokenStream: the background retry gate', () => {
  it('is reset by a successful refresh: the next token is refreshed in its own window', () => {
    marbles(({ cold, expectObservable, expectSubscriptions, stream, events, scheduler }) => {
      const a$ = cold('a|', { a: { value: 'A', expiresAt: 10_000 } });
      const failing$ = cold<Token>('-#', {}, new Error('auth server down'));
      // B arrives at 5,101 with 200 ms to live: due at 5,201, well before the failed
      // attempt's gate (5,001 + 1,000).
      const b$ = cold('a|', { a: { value: 'B', expiresAt: 5_301 } });
      const c$ = cold('a|', { a: { value: 'C', expiresAt: 100_000 } });
      const source = answering(a$, failing$, b$, c$);
      const tokens = stream({ source, refreshWindowMs: 5_000, retry: { count: 0 } });
      expectObservable(tokens.token$.pipe(first(), map((t) => t.value))).toBe('(a|)', { a: 'A' });
      expectObservable(tokens.token$.pipe(first(), map((t) => t.value)), '5000ms ^').toBe('5000ms (a|)', { a: 'A' });
      scheduler.schedule(() => tokens.invalidate('A'), 5_101);
      expectObservable(tokens.token$.pipe(first(), map((t) => t.value)), '5250ms ^').toBe('5250ms (b|)', { b: 'B' });
      expectSubscriptions(c$.subscriptions).toBe('5250ms (^!)');
      scheduler.schedule(() => {
        expect(events.filter((e) => e.type === 'refresh-start').map((e) => e.reason)).to.deep.equal(['initial', 'background', 'invalidated', 'background']);
      }, 6_000);
    });
  });
});
