// No state of Redis and no message on the channel may turn a wait into a busy loop. Time
// here is virtual: it moves only when a spec advances it, so every command the shared
// source sends is counted against the pauses that should separate them.
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { isTokenError } from 'rx-token-stream';
import type { SharedTokenSource } from 'rx-token-stream/redis';
import { counted, ManualScheduler } from './counted.js';
import { call, redisHarness, until } from './support.js';

const POLL_MS = 100;

describe('redisShared never waits in a busy loop', () => {
  const harness = redisHarness();
  let scheduler: ManualScheduler;
  beforeEach(() => {
    scheduler = new ManualScheduler();
  });

  /** A few round trips to Redis: time enough for a busy loop to show. */
  const roundTrips = async (): Promise<void> => {
    for (let i = 0; i < 5; i += 1) await harness.redis.ping();
  };
  const shared = (redis: Redis, waitTimeoutMs = 60_000): SharedTokenSource =>
    harness.shared({ redis, scheduler, pollMs: POLL_MS, waitTimeoutMs, commandTimeoutMs: 1_000_000 });

  it('races for the lock once per pollMs when another process takes and drops it each time', async () => {
    const redis = counted(harness.redis, { loseEveryLock: true });
    const { result } = call(shared(redis.client, 5 * POLL_MS));
    await until(() => redis.sets() >= 1, 'the first round');
    await roundTrips();
    expect(redis.sets()).to.equal(1);
    for (let round = 2; round <= 5; round += 1) {
      scheduler.advance(POLL_MS - 1);
      await roundTrips();
      expect(redis.sets(), `before round ${round}`).to.equal(round - 1);
      scheduler.advance(1);
      await until(() => redis.sets() >= round, `round ${round}`);
    }
    scheduler.advance(POLL_MS);
    const error = await result.catch((e: unknown) => e);
    expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_TIMEOUT');
    expect(redis.sets()).to.equal(6);
    expect(harness.server.calls).to.equal(0);
  });

  it('reads once per pollMs while another process holds the lock', async () => {
    const redis = counted(harness.redis);
    const source = shared(redis.client);
    await harness.redis.set(source.keys.lockKey, 'another-process', 'PX', 10_000);
    const waiter = call(source);
    // A read before the lock, and the first of the wait.
    await until(() => redis.reads() === 2, 'the first read of the wait');
    for (let poll = 1; poll <= 3; poll += 1) {
      await roundTrips();
      expect(redis.reads()).to.equal(1 + poll);
      scheduler.advance(POLL_MS);
      await until(() => redis.reads() === 2 + poll, `poll ${poll}`);
    }
    await harness.redis.set(source.keys.tokenKey, JSON.stringify({ value: 'polled', expiresAt: Date.now() + 60_000 }));
    scheduler.advance(POLL_MS);
    expect((await waiter.result).value).to.equal('polled');
  });

  it('follows one announcement at once, and no more before its next timed read, whatever the flood', async () => {
    const redis = counted(harness.redis);
    const source = shared(redis.client);
    await harness.redis.set(source.keys.lockKey, 'another-process', 'PX', 10_000);
    const waiter = call(source);
    await until(() => redis.reads() === 2, 'the first read of the wait');
    // A PING on the subscriber connection is answered after every message sent before it:
    // once it is back, the waiter has seen them all.
    const seen = async (): Promise<void> => {
      await redis.subscribers[0]?.ping();
      await roundTrips();
    };
    const flood = (): Promise<unknown> =>
      Promise.all(Array.from({ length: 500 }, () => harness.redis.publish(source.keys.channel, 'spam')));
    await flood();
    await seen();
    expect(redis.reads(), 'one read for the whole flood').to.equal(3);
    await harness.redis.set(source.keys.tokenKey, JSON.stringify({ value: 'announced', expiresAt: Date.now() + 60_000 }));
    await harness.redis.publish(source.keys.channel, '1');
    await flood();
    await seen();
    expect(redis.reads(), 'nothing more before the next timed read').to.equal(3);
    scheduler.advance(POLL_MS);
    expect((await waiter.result).value).to.equal('announced');
    expect(redis.reads()).to.equal(4);
  });
});
