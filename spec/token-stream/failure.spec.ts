import { expect } from 'chai';
import sinon from 'sinon';
import { catchError, first, map, of, type Observable } from 'rxjs';
import { isTokenError, type Token, type TokenSourceContext } from 'rx-token-stream';
import { marbles } from '../support/marbles.js';

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
        const source = sinon.stub();
        source.onCall(0).returns(failing$);
        source.onCall(1).returns(ok$);
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
        const source = sinon.stub();
        source.onCall(0).returns(cold('-'));
        source.onCall(1).returns(cold('-b|', { b: B }));
        const tokens = stream({ source, timeoutMs: 5, retry: { delayMs: 10, jitter: 0 } });
        expectObservable(outcome(tokens.token$)).toBe('16ms (b|)', { b: 'B' });
      });
    });
  });
});
