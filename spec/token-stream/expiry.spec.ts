import { expect } from 'chai';
import sinon from 'sinon';
import { catchError, first, map, of } from 'rxjs';
import { TokenStream, type Token } from 'rx-token-stream';
import { answering, marbles } from '../support/marbles.js';

// Times are the TestScheduler's frames (1 frame = 1 ms of virtual time).
const A: Token = { value: 'A', expiresAt: 200 };
const B: Token = { value: 'B', expiresAt: 10_000 };
const values = { a: A, b: B };

describe('TokenStream expiry and the refresh window', () => {
  describe('4. refresh window', () => {
    it('serves a token inside the window at once and starts exactly one background refresh', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream, scheduler, events }) => {
        const first$ = cold('a|', values);
        const background$ = cold('----b|', values);
        const source = answering(first$, background$);
        // Lifetime 200, window 60 (less than half of it): due at 140.
        const tokens = stream({ source, refreshWindowMs: 60 });
        expectObservable(tokens.token$, '^ 199ms !').toBe('a 143ms b', values);
        expectObservable(tokens.token$.pipe(first()), '139ms ^').toBe('139ms (a|)', values);
        expectObservable(tokens.token$.pipe(first()), '140ms ^').toBe('140ms (a|)', values);
        expectObservable(tokens.token$.pipe(first()), '142ms ^').toBe('142ms (a|)', values);
        scheduler.schedule(() => void tokens.getToken(), 143);
        expectSubscriptions(first$.subscriptions).toBe('(^!)');
        expectSubscriptions(background$.subscriptions).toBe('140ms ^---!');
        scheduler.schedule(() => {
          expect(source.callCount).to.equal(2);
          expect(source.secondCall.args[0]).to.deep.include({ reason: 'background', previous: A });
          expect(events.filter((e) => e.type === 'refresh-start').map((e) => e.reason)).to.deep.equal(['initial', 'background']);
        }, 200);
      });
    });

    it('caps the window at half the lifetime measured from arrival', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
        // Arrives at 100, expires at 200: lifetime 100, so the default 60 s window becomes 50.
        const short = { a: { value: 'A', expiresAt: 200 }, b: B };
        const first$ = cold('100ms a|', short);
        const background$ = cold('-b|', short);
        const source = answering(first$, background$);
        const tokens = stream({ source });
        expectObservable(tokens.token$.pipe(first()), '^').toBe('100ms (a|)', short);
        expectObservable(tokens.token$.pipe(first()), '149ms ^').toBe('149ms (a|)', short);
        expectObservable(tokens.token$.pipe(first()), '150ms ^').toBe('150ms (a|)', short);
        expectSubscriptions(background$.subscriptions).toBe('150ms ^!');
      });
    });

    it('keeps serving the old token when the background refresh fails, retrying no more often than the retry delay, and callers never see the error', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream, events, scheduler }) => {
        const long = { a: { value: 'A', expiresAt: 10_000 }, b: B };
        const first$ = cold('a|', long);
        const failing$ = cold('--#', long, new Error('auth server down'));
        const after$ = cold('--b|', long);
        const source = answering(first$, failing$, failing$, after$);
        const tokens = stream({ source, refreshWindowMs: 5_000, retry: { count: 0, delayMs: 2_000 } });
        const served = (at: number): void =>
          expectObservable(
            tokens.token$.pipe(
              first(),
              map((token) => token.value),
              catchError(() => of('error')),
            ),
            `${at}ms ^`,
          ).toBe(`${at}ms (a|)`, { a: 'A' });
        // Due at 5,000. Failures at 5,002 and 7,004; a new attempt no sooner than 2,000 ms after each.
        for (const at of [0, 5_000, 5_001, 5_010, 7_001, 7_002, 7_010, 9_003, 9_004]) served(at);
        expectObservable(tokens.token$.pipe(first()), '9007ms ^').toBe('9007ms (b|)', long);
        expectSubscriptions(failing$.subscriptions).toBe(['5000ms ^-!', '7002ms ^-!']);
        expectSubscriptions(after$.subscriptions).toBe('9004ms ^-!');
        scheduler.schedule(() => {
          const failures = events.filter((e) => e.type === 'refresh-failure').map((e) => [e.reason, e.at]);
          expect(failures).to.deep.equal([['background', 5_002], ['background', 7_004]]);
          expect(source.callCount).to.equal(4);
          expect(source.lastCall.args[0]).to.include({ reason: 'background' });
        }, 9_100);
      });
    });

    it('waits at least 1 s before another background attempt, however short retry.delayMs is', () => {
      for (const delayMs of [0, 10]) {
        marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
          const long = { a: { value: 'A', expiresAt: 10_000 }, b: B };
          const failing$ = cold<Token>('#', {}, new Error('auth server down'));
          const source = sinon.stub().returns(failing$);
          source.onCall(0).returns(cold('a|', long));
          const tokens = stream({ source, refreshWindowMs: 5_000, retry: { count: 0, delayMs } });
          for (const at of [0, 5_000, 5_001, 5_500, 5_999, 6_000, 6_001]) {
            expectObservable(tokens.token$.pipe(first(), map((token) => token.value)), `${at}ms ^`).toBe(`${at}ms (a|)`, { a: 'A' });
          }
          expectSubscriptions(failing$.subscriptions).toBe(['5000ms (^!)', '6000ms (^!)']);
        });
      }
    });

    it('makes a single attempt in the background, whatever retry.count says', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
        const first$ = cold('a|', values);
        const failing$ = cold<Token>('-#');
        const source = sinon.stub().returns(failing$);
        source.onCall(0).returns(first$);
        const tokens = stream({ source, refreshWindowMs: 60, retry: { count: 2, delayMs: 5, jitter: 0 } });
        expectObservable(tokens.token$.pipe(first()), '^').toBe('(a|)', values);
        expectObservable(tokens.token$.pipe(first()), '140ms ^').toBe('140ms (a|)', values);
        expectSubscriptions(failing$.subscriptions).toBe('140ms ^!');
      });
    });

    it('gives callers who joined a failing background refresh a full refresh of their own', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
        const first$ = cold('a|', values);
        const slow$ = cold<Token>('----------#');
        const failing$ = cold<Token>('-#');
        const after$ = cold('-b|', values);
        const source = answering(first$, slow$, failing$, after$);
        const tokens = stream({ source, refreshWindowMs: 60, retry: { count: 1, delayMs: 5, jitter: 0 } });
        expectObservable(tokens.token$.pipe(first()), '^').toBe('(a|)', values);
        // Background at 195 fails at 205; A expired at 200, so the caller from 201 waits.
        expectObservable(tokens.token$.pipe(first()), '195ms ^').toBe('195ms (a|)', values);
        expectObservable(tokens.token$.pipe(first()), '201ms ^').toBe('212ms (b|)', values);
        expectSubscriptions(slow$.subscriptions).toBe('195ms ^---------!');
        expectSubscriptions(failing$.subscriptions).toBe('205ms ^!');
        expectSubscriptions(after$.subscriptions).toBe('211ms ^!');
      });
    });
  });

  describe('5. expiry', () => {
    it('never serves an expired token: demands from its expiry on wait for the refresh', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
        const expiring = { a: { value: 'A', expiresAt: 50 }, b: B };
        const first$ = cold('a|', expiring);
        const second$ = cold('---b|', expiring);
        const source = answering(first$, second$);
        const tokens = stream({ source, refreshWindowMs: 0 });
        expectObservable(tokens.token$.pipe(first()), '49ms ^').toBe('49ms (a|)', expiring);
        expectObservable(tokens.token$.pipe(first()), '50ms ^').toBe('50ms ---(b|)', expiring);
        expectObservable(tokens.token$.pipe(first()), '51ms ^').toBe('53ms (b|)', expiring);
        expectSubscriptions(second$.subscriptions).toBe('50ms ^--!');
      });
    });

    it('never resolves getToken() with an expired token', async () => {
      let now = 0;
      let calls = 0;
      const scheduler = { now: () => now, schedule: () => { throw new Error('no timers expected'); } };
      const tokens = new TokenStream({
        source: () => [{ value: `T${++calls}`, expiresAt: now + 100 }],
        refreshWindowMs: 0,
        scheduler,
      });
      expect((await tokens.getToken()).value).to.equal('T1');
      now = 99;
      expect((await tokens.getToken()).value).to.equal('T1');
      now = 100;
      expect((await tokens.getToken()).value).to.equal('T2');
      expect(calls).to.equal(2);
      tokens.close();
    });

    it('serves a token without expiresAt until it is invalidated', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
        const src = cold('a|', { a: { value: 'forever' } });
        const tokens = stream({ source: () => src });
        expectObservable(tokens.token$.pipe(first()), '^').toBe('(a|)', { a: { value: 'forever' } });
        expectObservable(tokens.token$.pipe(first()), '100000000ms ^').toBe('100000000ms (a|)', { a: { value: 'forever' } });
        expectSubscriptions(src.subscriptions).toBe('(^!)');
      });
    });
  });
});

describe('TokenStream: a server-chosen refresh time (refreshAt)', () => {
  it('starts the background refresh at refreshAt when that comes before the window', () => {
    marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
      const early = { a: { value: 'A', expiresAt: 1_000, refreshAt: 300 }, b: { value: 'B', expiresAt: 100_000 } };
      const first$ = cold('a|', early);
      const background$ = cold('-b|', early);
      const source = answering(first$, background$);
      // The window alone (60 ms before expiry) would be due at 940.
      const tokens = stream({ source, refreshWindowMs: 60 });
      expectObservable(tokens.token$.pipe(first()), '^').toBe('(a|)', early);
      expectObservable(tokens.token$.pipe(first()), '299ms ^').toBe('299ms (a|)', early);
      expectObservable(tokens.token$.pipe(first()), '300ms ^').toBe('300ms (a|)', early);
      expectSubscriptions(background$.subscriptions).toBe('300ms ^!');
    });
  });

  it('refuses a refreshAt that is not a finite number, after one attempt', async () => {
    let calls = 0;
    const tokens = new TokenStream({
      source: async () => {
        calls += 1;
        return { value: 'A', refreshAt: Number.NaN };
      },
    });
    const error: unknown = await tokens.getToken().catch((e: unknown) => e);
    expect((error as Error).message).to.match(/`refreshAt` must be a finite number/);
    expect(calls).to.equal(1);
    tokens.close();
  });
});
