import { expect } from 'chai';
import sinon from 'sinon';
import { Subscription, asyncScheduler, map, type SchedulerLike } from 'rxjs';
import { TokenStream, type Token } from 'rx-token-stream';
import { answering, marbles, settle } from '../support/marbles.js';

// Times are the TestScheduler's frames (1 frame = 1 ms of virtual time).
describe('TokenStream: a live token$ subscriber is demand (16)', () => {
  it('refreshes in the refresh window for a lone subscriber and emits each new token', () => {
    marbles(({ cold, expectObservable, stream, scheduler }) => {
      let calls = 0;
      // Each token lives 100 ms from its arrival: due half-way, 50 ms after it arrived.
      const source = sinon.spy(() => {
        calls += 1;
        return cold('-t|', { t: { value: `T${calls}`, expiresAt: scheduler.now() + 101 } });
      });
      const tokens = stream({ source });
      expectObservable(tokens.token$.pipe(map((token) => token.value)), '^ 399ms !').toBe(
        '-a 50ms b 50ms c 50ms d 50ms e 50ms f 50ms g 50ms h',
        { a: 'T1', b: 'T2', c: 'T3', d: 'T4', e: 'T5', f: 'T6', g: 'T7', h: 'T8' },
      );
      // After the subscriber left, no timer is left to call the source again.
      scheduler.schedule(() => expect(source.callCount).to.equal(8), 5_000);
    });
  });

  it('refreshes at expiry when the token has no window left, and holds no timer once the subscriber left', () => {
    marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
      const a$ = cold('a|', { a: { value: 'A', expiresAt: 50 } });
      const b$ = cold('--b|', { b: { value: 'B', expiresAt: 1_000 } });
      const source = answering(a$, b$);
      // refreshWindowMs 0: nothing is due before expiry, so the expiry itself is the moment.
      const tokens = stream({ source, refreshWindowMs: 0 });
      expectObservable(tokens.token$.pipe(map((token) => token.value)), '^ 99ms !').toBe('a 51ms b', { a: 'A', b: 'B' });
      expectSubscriptions(b$.subscriptions).toBe('50ms ^-!');
      // B expires at 1,000, long after the subscriber left at 100: no third call.
      expectSubscriptions(a$.subscriptions).toBe('(^!)');
    });
  });

  it('never errors a subscriber that holds a token when a later refresh fails, and hands it the next good one', () => {
    marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
      const a$ = cold('a|', { a: { value: 'A', expiresAt: 50 } });
      const failing$ = cold<Token>('-#', {}, new Error('auth server down'));
      const b$ = cold('-b|', { b: { value: 'B', expiresAt: 100_000 } });
      const source = answering(a$, failing$, b$);
      const tokens = stream({ source, refreshWindowMs: 0, retry: { count: 0, delayMs: 10 } });
      // A expires at 50; the refresh fails at 51; the next try waits 1 s (the background floor).
      expectObservable(tokens.token$.pipe(map((token) => token.value)), '^ 1999ms !').toBe('a 1051ms b', { a: 'A', b: 'B' });
      expectSubscriptions(failing$.subscriptions).toBe('50ms ^!');
      expectSubscriptions(b$.subscriptions).toBe('1051ms ^!');
    });
  });

  it('stops its timer on close', () => {
    marbles(({ cold, expectObservable, stream, scheduler }) => {
      const source = sinon.stub().returns(cold('a|', { a: { value: 'A', expiresAt: 100 } }));
      const tokens = stream({ source });
      expectObservable(tokens.token$.pipe(map((token) => token.value))).toBe('a 9ms |', { a: 'A' });
      scheduler.schedule(() => tokens.close(), 10);
      scheduler.schedule(() => expect(source.callCount).to.equal(1), 1_000);
    });
  });

  describe('on real timers', () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

    it('hands a lone subscriber at least 3 distinct 200 ms tokens within 1 s, then holds no timer', async function () {
      this.timeout(5_000);
      let calls = 0;
      const tokens = new TokenStream({
        source: async () => {
          calls += 1;
          return { value: `T${calls}`, expiresAt: Date.now() + 200 };
        },
      });
      await settle();
      const before = timers();
      const seen = new Set<string>();
      let subscription = Subscription.EMPTY;
      const startedAt = Date.now();
      await new Promise<void>((resolve) => {
        subscription = tokens.token$.subscribe((token) => {
          seen.add(token.value);
          if (seen.size === 3) resolve();
        });
      });
      const elapsed = Date.now() - startedAt;
      subscription.unsubscribe();
      expect(seen.size).to.equal(3);
      expect(elapsed).to.be.below(1_000);
      await settle();
      expect(timers()).to.equal(before);
      expect(calls).to.equal(3);
      tokens.close();
      await settle();
      expect(timers(), 'after close').to.equal(before);
    });
  });
});

describe('TokenStream: the keep-fresh timer', () => {
  it('never asks a timer for more than the longest Node.js timer, for a token good for a year', async () => {
    const delays: number[] = [];
    const scheduler = {
      now: () => Date.now(),
      schedule: (work: () => void, delay = 0) => {
        delays.push(delay);
        return asyncScheduler.schedule(work, delay);
      },
    } as SchedulerLike;
    let calls = 0;
    const tokens = new TokenStream({
      source: async () => {
        calls += 1;
        return { value: 'A', expiresAt: Date.now() + 365 * 24 * 3_600_000 };
      },
      scheduler,
    });
    const subscription = tokens.token$.subscribe();
    await settle();
    subscription.unsubscribe();
    tokens.close();
    expect(calls).to.equal(1);
    expect(delays.length).to.be.greaterThan(0);
    expect(Math.max(...delays)).to.equal(2_147_483_647);
  });
});
