// A stored token that expires between the shared source's check and the stream's own
// check (or soon after, at the API) must lead to a new source call, never to a failed
// demand. Each clock here is one the spec sets: no waiting on real time.
import { expect } from 'chai';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { TokenStream } from 'rx-token-stream';
import { call, redisHarness, until } from './support.js';

const HOUR = 3_600_000;

/** Real timers, and a clock that reads `now()`. */
const clock = (now: () => number): SchedulerLike => ({ now, schedule: asyncScheduler.schedule.bind(asyncScheduler) });

describe('redisShared near a token expiry', () => {
  const harness = redisHarness();
  const T = Date.now();
  const stored = (left: number, lifetime: number): string =>
    JSON.stringify({ value: 'about-to-expire', expiresAt: T + left, issuedAt: T + left - lifetime });

  it('calls the source when the stored token would expire before the stream checks it', async () => {
    // The stream's clock runs 2 ms ahead of the shared source's: the time that passes
    // between the two checks, by which the stored token has expired.
    const source = harness.shared({ scheduler: clock(() => T) });
    await harness.redis.set(source.keys.tokenKey, stored(2, HOUR));
    const tokens = new TokenStream({ source, scheduler: clock(() => T + 2), retry: { count: 0 } });
    try {
      expect((await tokens.getToken()).value).to.equal('tok-1');
      expect(harness.server.calls).to.equal(1);
      expect(JSON.parse((await harness.redis.get(source.keys.tokenKey)) as string).value).to.equal('tok-1');
    } finally {
      tokens.close();
    }
  });

  it('treats an hour-long token as absent in its last 5 s, and serves it before', async () => {
    const source = harness.shared({ scheduler: clock(() => T) });
    await harness.redis.set(source.keys.tokenKey, stored(5_001, HOUR));
    expect((await call(source).result).value).to.equal('about-to-expire');
    await harness.redis.set(source.keys.tokenKey, stored(5_000, HOUR));
    expect((await call(source).result).value).to.equal('tok-1');
    expect(harness.server.calls).to.equal(1);
  });

  it('still shares a 200 ms token until its last 20 ms', async () => {
    const source = harness.shared({ scheduler: clock(() => T) });
    await harness.redis.set(source.keys.tokenKey, stored(21, 200));
    expect((await call(source).result).value).to.equal('about-to-expire');
    await harness.redis.set(source.keys.tokenKey, stored(20, 200));
    expect((await call(source).result).value).to.equal('tok-1');
    expect(harness.server.calls).to.equal(1);
  });

  it('takes the lock and calls the source when the token a holder stored is about to expire', async () => {
    const source = harness.shared({ scheduler: clock(() => T), pollMs: 50 });
    await harness.redis.set(source.keys.lockKey, 'another-process', 'PX', 10_000);
    const waiter = call(source);
    await until(async () => ((await harness.redis.pubsub('NUMSUB', source.keys.channel)) as [string, number])[1] === 1, 'subscribed');
    // The other process stores a token with 1 s left of an hour, releases and announces.
    await harness.redis.set(source.keys.tokenKey, stored(1_000, HOUR));
    await harness.redis.del(source.keys.lockKey);
    await harness.redis.publish(source.keys.channel, '1');
    expect((await waiter.result).value).to.equal('tok-1');
    expect(harness.server.calls).to.equal(1);
  });
});
