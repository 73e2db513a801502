import { expect } from 'chai';
import sinon from 'sinon';
import { asyncScheduler, catchError, first, map, of, type SchedulerLike } from 'rxjs';
import { TokenStreams, isTokenError, type KeyedTokenEvent, type Token, type TokenSourceContext } from 'rx-token-stream';
import { deferred, marbles, settle } from '../support/marbles.js';

/** A source that answers each key with `<key>:<n>`, counting calls per key. */
function perKey(lifetimeMs = 60_000): { source: (context: TokenSourceContext) => Promise<Token>; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  return {
    calls,
    source: async ({ key }) => {
      const n = (calls.get(key ?? '') ?? 0) + 1;
      calls.set(key ?? '', n);
      return { value: `${key}:${n}`, expiresAt: Date.now() + lifetimeMs };
    },
  };
}

/** A clock the test moves, on real timers. */
function manualClock(): { scheduler: SchedulerLike; advance: (ms: number) => void } {
  let now = 1_000_000;
  return {
    scheduler: { now: () => now, schedule: asyncScheduler.schedule.bind(asyncScheduler) } as SchedulerLike,
    advance: (ms) => {
      now += ms;
    },
  };
}

const codeOf = (error: unknown): string => (isTokenError(error) ? error.code : 'foreign');

describe('TokenStreams', () => {
  describe('1. per-key single flight', () => {
    it('makes exactly one source call per key for 10,000 keys x 10 concurrent demands, each caller getting its own key', async function () {
      this.timeout(30_000);
      const { source, calls } = perKey();
      const streams = new TokenStreams({ source, maxKeys: 20_000 });
      const keys = Array.from({ length: 10_000 }, (_, i) => `tenant-${i}`);
      const demands = keys.flatMap((key) => Array.from({ length: 10 }, () => streams.getToken(key).then((token) => [key, token.value])));
      const results = await Promise.all(demands);
      expect(calls.size).to.equal(10_000);
      expect([...calls.values()].every((n) => n === 1)).to.equal(true);
      expect(results.every(([key, value]) => value === `${key}:1`)).to.equal(true);
      expect(streams.size).to.equal(10_000);
      streams.close();
    });
  });

  describe('3. every TokenStream guarantee per key', () => {
    it('lets a failing key retry on its own while another key is served at once', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, scheduler }) => {
        const failing$ = cold<Token>('-#', {}, new Error('tenant a is down'));
        const b$ = cold('b|', { b: { value: 'b:1' } });
        const source = sinon.spy(({ key }: TokenSourceContext) => (key === 'a' ? failing$ : b$));
        const streams = new TokenStreams({ source, scheduler, retry: { count: 2, delayMs: 10, jitter: 0 } });
        const valueOf = (key: string) =>
          streams.token$(key).pipe(
            first(),
            map((token) => token.value),
          );
        // a: attempts at 0, 11 and 32, each failing 1 ms later.
        expectObservable(valueOf('a').pipe(catchError((error: unknown) => of(codeOf(error))))).toBe('33ms (e|)', { e: 'ERR_TOKEN_REFRESH' });
        expectObservable(valueOf('b'), '5ms ^').toBe('5ms (b|)', { b: 'b:1' });
        expectSubscriptions(failing$.subscriptions).toBe(['^!', '11ms ^!', '32ms ^!']);
        expectSubscriptions(b$.subscriptions).toBe('5ms (^!)');
        scheduler.schedule(() => streams.close(), 100);
      });
    });

    it('keeps the stale-401 guard per key: a late 401 for one key never refreshes another', async () => {
      const { source, calls } = perKey();
      const streams = new TokenStreams({ source });
      const a1 = await streams.getToken('a');
      const b1 = await streams.getToken('b');
      streams.invalidate('a', a1);
      streams.invalidate('a', a1);
      streams.invalidate('b', a1);
      expect((await streams.getToken('a')).value).to.equal('a:2');
      expect(await streams.getToken('b')).to.deep.equal(b1);
      expect(Object.fromEntries(calls)).to.deep.equal({ a: 2, b: 1 });
      streams.close();
    });
  });

  describe('4. eviction never breaks a caller', () => {
    it('never evicts a key with a pending getToken, a live token$ subscriber or a refresh running', async () => {
      const pending = new Map<string, ReturnType<typeof deferred<Token>>>();
      const source = ({ key }: TokenSourceContext): Promise<Token> => {
        if (key === 'slow') {
          const next = deferred<Token>();
          pending.set(key, next);
          return next.promise;
        }
        return Promise.resolve({ value: `${key}:1` });
      };
      const streams = new TokenStreams({ source, maxKeys: 2 });
      const slow = streams.getToken('slow');
      await streams.getToken('watched');
      const seen: string[] = [];
      const subscription = streams.token$('watched').subscribe((token) => seen.push(token.value));
      for (let i = 0; i < 50; i += 1) await streams.getToken(`filler-${i}`);
      // Both busy keys outlived 50 fillers with room for 2 keys.
      pending.get('slow')?.resolve({ value: 'slow:1' });
      expect((await slow).value).to.equal('slow:1');
      streams.invalidate('watched', 'watched:1');
      await settle();
      expect(seen).to.deep.equal(['watched:1', 'watched:1']);
      subscription.unsubscribe();
      expect(streams.size).to.be.at.most(4);
      streams.close();
    });

    it('closes an evicted stream and drops its token: the key costs one new source call, and its handle keeps working', async () => {
      const { source, calls } = perKey();
      const streams = new TokenStreams({ source, maxKeys: 1 });
      const handle = streams.for('a');
      expect((await handle.getToken()).value).to.equal('a:1');
      await streams.getToken('b');
      expect(streams.size).to.equal(1);
      expect((await handle.getToken()).value).to.equal('a:2');
      expect(calls.get('a')).to.equal(2);
      streams.close();
    });

    it('evicts a key unused for idleMs on a later call, on the injected clock', async () => {
      const { source } = perKey();
      const clock = manualClock();
      const streams = new TokenStreams({ source, scheduler: clock.scheduler, idleMs: 1_000 });
      await streams.getToken('a');
      clock.advance(999);
      await streams.getToken('b');
      expect(streams.size).to.equal(2);
      clock.advance(1);
      await streams.getToken('b');
      expect(streams.size).to.equal(1);
      streams.close();
    });
  });

  describe('5. bounded', () => {
    it('holds at most maxKeys after 100,000 distinct keys, and no timer', async function () {
      this.timeout(60_000);
      await settle();
      const before = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
      const streams = new TokenStreams({ source: async ({ key }) => ({ value: `${key}`, expiresAt: Date.now() + 60_000 }), maxKeys: 1_000 });
      let largest = 0;
      for (let i = 0; i < 100_000; i += 1) {
        await streams.getToken(`user-${i}`);
        largest = Math.max(largest, streams.size);
      }
      expect(largest).to.equal(1_000);
      await settle();
      expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length).to.equal(before);
      streams.close();
      expect(streams.size).to.equal(0);
    });
  });

  describe('6. events', () => {
    it('carries the key with every event and never a token', async () => {
      let calls = 0;
      const streams = new TokenStreams({
        source: async ({ key }) => {
          calls += 1;
          if (calls === 1) throw Object.assign(new Error('once'), { retryAfterMs: 0 });
          return { value: `secret-${key}`, expiresAt: Date.now() + 60_000 };
        },
      });
      const events: KeyedTokenEvent[] = [];
      streams.events$.subscribe((event) => events.push(event));
      const token = await streams.getToken('t1');
      streams.invalidate('t1', 'not-current');
      await streams.getToken('t2');
      expect(events.map((event) => `${event.key}:${event.type}`)).to.deep.equal([
        't1:refresh-start',
        't1:refresh-retry',
        't1:refresh-success',
        't1:invalidate-ignored',
        't2:refresh-start',
        't2:refresh-success',
      ]);
      expect(JSON.stringify(events)).to.not.include(token.value);
      expect(JSON.stringify(events)).to.not.include('secret-');
      streams.close();
    });
  });

  describe('arguments and lifecycle', () => {
    it('refuses a key that is not a non-empty string with a TypeError naming `key`', () => {
      const streams = new TokenStreams({ source: async () => ({ value: 'x' }) });
      // A lone surrogate becomes U+FFFD in Redis and PostgreSQL: two tenants' keys would be one.
      for (const key of ['', undefined, 42, {}, 'tenant-\uD800', 'tenant-\uDC00', 'tenant\0']) {
        expect(() => streams.getToken(key as string)).to.throw(TypeError, /`key`/);
        expect(() => streams.invalidate(key as string, 'x')).to.throw(TypeError, /`key`/);
        expect(() => streams.token$(key as string)).to.throw(TypeError, /`key`/);
        expect(() => streams.for(key as string)).to.throw(TypeError, /`key`/);
      }
      streams.close();
    });

    it('checks its options, naming the bad one', () => {
      const source = async (): Promise<Token> => ({ value: 'x' });
      const invalid: Array<[string, unknown]> = [
        ['source', {}],
        ['maxKeys', { source, maxKeys: 0 }],
        ['maxKeys', { source, maxKeys: 1.5 }],
        ['idleMs', { source, idleMs: 0 }],
        ['idleMs', { source, idleMs: Number.POSITIVE_INFINITY }],
        ['timeoutMs', { source, timeoutMs: -1 }],
      ];
      for (const [name, options] of invalid) {
        expect(() => new TokenStreams(options as never), name).to.throw(TypeError, new RegExp(`TokenStreams: option \`${name}\``));
      }
    });

    it('rejects every call after close with ERR_TOKEN_CLOSED, and closes each stream', async () => {
      const { source } = perKey();
      const streams = new TokenStreams({ source });
      const pending = streams.getToken('a');
      streams.close();
      expect(codeOf(await pending.catch((e: unknown) => e))).to.equal('ERR_TOKEN_CLOSED');
      expect(codeOf(await streams.getToken('a').catch((e: unknown) => e))).to.equal('ERR_TOKEN_CLOSED');
      const error: unknown = await new Promise((resolve) => streams.token$('a').subscribe({ error: resolve }));
      expect(codeOf(error)).to.equal('ERR_TOKEN_CLOSED');
      expect(streams.size).to.equal(0);
    });
  });
});
