import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { asyncScheduler, catchError, first, map, of, type Observable, type SchedulerLike } from 'rxjs';
import { TokenStream, TokenStreams, isTokenError, type Token } from 'rx-token-stream';
import { instrument } from 'rx-token-stream/otel';
import { deferred, marbles, settle } from '../support/marbles.js';
import { everythingRecorded, named, telemetry, type Telemetry } from './support.js';

const sha16 = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 16);

const valueOf = (token$: Observable<Token>): Observable<string> =>
  token$.pipe(
    first(),
    map((token) => token.value),
    catchError((error: unknown) => of(isTokenError(error) ? error.code : 'foreign')),
  );

/** A clock the test moves, on real timers. */
function manualClock(): { scheduler: SchedulerLike; set: (ms: number) => void } {
  let now = 0;
  return {
    scheduler: { now: () => now, schedule: asyncScheduler.schedule.bind(asyncScheduler) } as SchedulerLike,
    set: (ms) => {
      now = ms;
    },
  };
}

describe('otel: refresh metrics', () => {
  let t: Telemetry;
  // Delta: the gauge specs show what the callback observes (see telemetry()).
  beforeEach(() => (t = telemetry({ delta: true })));
  afterEach(() => t.shutdown());

  it('counts refreshes by reason and outcome, and records their durations in seconds', async () => {
    marbles(({ cold, expectObservable, stream, scheduler }) => {
      let calls = 0;
      const tokens = stream({
        source: () => {
          calls += 1;
          if (calls === 3) return cold<Token>('--#', {}, Object.assign(new Error('SECRET'), { retryable: false }));
          return cold<Token>('-a', { a: { value: `SECRET-${calls}` } });
        },
      });
      instrument(tokens, { tracer: t.tracer, meter: t.meter });
      expectObservable(valueOf(tokens.token$)).toBe('-(a|)', { a: 'SECRET-1' });
      // A 401 for each token: the second refresh succeeds after 1 ms, the third fails after 2.
      scheduler.schedule(() => tokens.invalidate('SECRET-1'), 10);
      expectObservable(valueOf(tokens.token$), '10ms ^').toBe('11ms (a|)', { a: 'SECRET-2' });
      scheduler.schedule(() => tokens.invalidate('SECRET-2'), 20);
      expectObservable(valueOf(tokens.token$), '20ms ^').toBe('22ms (e|)', { e: 'ERR_TOKEN_REFRESH' });
    });
    const all = await t.collect();
    const attrs = (reason: string, outcome: string, extra = {}) => ({ 'token.refresh.reason': reason, 'token.refresh.outcome': outcome, ...extra });
    expect(named(all, 'token.refreshes').map(({ attributes, value }) => ({ attributes, value }))).to.deep.equal([
      { attributes: attrs('initial', 'success'), value: 1 },
      { attributes: attrs('invalidated', 'success'), value: 1 },
      { attributes: attrs('invalidated', 'failure', { 'error.type': 'ERR_TOKEN_REFRESH' }), value: 1 },
    ]);
    const durations = named(all, 'token.refresh.duration').map(({ value }) => value as { count: number; sum: number });
    expect(durations.map(({ count, sum }) => ({ count, sum }))).to.deep.equal([
      { count: 1, sum: 0.001 },
      { count: 1, sum: 0.001 },
      { count: 1, sum: 0.002 },
    ]);
    expect(everythingRecorded(t.spans(), all)).not.to.match(/SECRET/);
  });

  it('reports the time left on the held token, and nothing once it is dropped or expired', async () => {
    const clock = manualClock();
    let pending: Promise<Token> | undefined;
    let calls = 0;
    const tokens = new TokenStream({
      scheduler: clock.scheduler,
      refreshWindowMs: 10_000,
      source: () => {
        calls += 1;
        if (calls === 2) return Promise.reject(new Error('background refresh failed'));
        if (calls === 3) return (pending = deferred<Token>().promise);
        return Promise.resolve({ value: `SECRET-${calls}`, expiresAt: 60_000 });
      },
    });
    instrument(tokens, { tracer: t.tracer, meter: t.meter, scheduler: clock.scheduler });
    const timeLeft = async (): Promise<number[]> => named(await t.collect(), 'token.time_left').map(({ value }) => value as number);

    expect(await timeLeft(), 'before any token').to.deep.equal([]);
    const token = await tokens.getToken();
    expect(await timeLeft()).to.deep.equal([60]);
    clock.set(55_000);
    await tokens.getToken(); // in its window: a background refresh, which fails
    await settle();
    expect(calls).to.equal(2);
    expect(await timeLeft(), 'the old token is still served').to.deep.equal([5]);
    tokens.invalidate(token);
    expect(pending).not.to.equal(undefined);
    expect(await timeLeft(), 'after a 401 no token is held').to.deep.equal([]);
    tokens.close();
  });

  it('drops an expired reading, and every reading of a TokenStreams when it closes', async () => {
    const clock = manualClock();
    const streams = new TokenStreams({
      scheduler: clock.scheduler,
      source: async ({ key }) => ({ value: `SECRET-${key}`, expiresAt: key === 'short' ? 1_000 : 90_000 }),
    });
    instrument(streams, { tracer: t.tracer, meter: t.meter, scheduler: clock.scheduler });
    await Promise.all([streams.getToken('short'), streams.getToken('long')]);
    const readings = async () =>
      named(await t.collect(), 'token.time_left').map(({ attributes, value }) => [attributes['token.key.hash'], value]);
    expect(await readings()).to.deep.equal([
      [sha16('short'), 1],
      [sha16('long'), 90],
    ]);
    clock.set(1_000);
    expect(await readings()).to.deep.equal([[sha16('long'), 89]]);
    streams.close();
    expect(await readings()).to.deep.equal([]);
  });

  it('lets go of a key that TokenStreams evicted as soon as it is evicted (its closed event says so)', async () => {
    const clock = manualClock();
    const streams = new TokenStreams({ scheduler: clock.scheduler, maxKeys: 1, source: async ({ key }) => ({ value: `SECRET-${key}`, expiresAt: 30_000 }) });
    instrument(streams, { tracer: t.tracer, meter: t.meter, scheduler: clock.scheduler, keyAttribute: 'raw' });
    await streams.getToken('a');
    await streams.getToken('b');
    expect(streams.size, 'a was evicted').to.equal(1);
    const keys = async () => named(await t.collect(), 'token.time_left').map(({ attributes }) => attributes['token.key']);
    expect(await keys()).to.deep.equal(['b']);
    clock.set(30_000);
    expect(await keys()).to.deep.equal([]);
    streams.close();
  });
});
