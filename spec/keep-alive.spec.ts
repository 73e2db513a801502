import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { Redis } from 'ioredis';
import { asyncScheduler } from 'rxjs';
import { TokenStream, type Token } from 'rx-token-stream';
import { redisShared, type SharedTokenSource } from 'rx-token-stream/redis';
import { call, until } from './redis/support.js';
import { LONG, LONG_REDIS_DELAYS, killScripts, runsToExit, timers, timersNow } from './support/keep-alive.js';
import { requireRedis } from './support/redis-server.js';

after(killScripts);

describe('never keeps the process alive (11)', () => {

  it('holds no timer once getToken() resolved, even with a long timeout', async () => {
    const before = await timersNow();
    const tokens = new TokenStream({ source: async () => ({ value: 'A', expiresAt: Date.now() + 100_000 }), timeoutMs: LONG });
    const pending = tokens.getToken();
    expect(timers()).to.equal(before + 1);
    await pending;
    expect(await timersNow()).to.equal(before);
  });

  it('holds no timer after a retried refresh or a failed background refresh settled', async () => {
    let now = 0;
    let calls = 0;
    const tokens = new TokenStream({
      source: async (): Promise<Token> => {
        calls += 1;
        if (calls === 1) throw Object.assign(new Error('retry me'), { retryAfterMs: 1 });
        if (calls === 3) throw new Error('background failure');
        return { value: `T${calls}`, expiresAt: now + 100 };
      },
      timeoutMs: LONG,
      retry: { count: 2, delayMs: LONG },
      // Real timers, but expiry on a clock the test moves.
      scheduler: { now: () => now, schedule: asyncScheduler.schedule.bind(asyncScheduler) },
    });
    const before = await timersNow();
    expect((await tokens.getToken()).value).to.equal('T2');
    expect(await timersNow()).to.equal(before);
    now = 60;
    expect((await tokens.getToken()).value).to.equal('T2');
    // The background call failed; a retry timer of LONG ms would show up here.
    expect(await timersNow()).to.equal(before);
    expect(calls).to.equal(3);
    tokens.close();
  });

  it('lets a script that gets a token and returns exit by itself', async function () {
    this.timeout(15_000);
    const { output, code } = await runsToExit('core-keep-alive.ts');
    expect(output).to.equal('token-3 after 3 calls');
    expect(code).to.equal(0);
  });
});

describe('redisShared never keeps the process alive (11)', () => {
  let redis: Redis;
  let url: string;
  before(function () {
    url = requireRedis(this);
    redis = new Redis(url);
  });
  after(() => redis?.disconnect());

  // Every delay far longer than a spec: a timer or a listener left behind shows in a count.
  const shared = (source: () => Promise<Token>, key = `keep-alive-${randomUUID()}`): SharedTokenSource =>
    redisShared(source, { redis, key, ...LONG_REDIS_DELAYS });
  const subscribed = async (channel: string): Promise<void> =>
    until(async () => ((await redis.pubsub('NUMSUB', channel)) as [string, number])[1] === 1, 'the waiter subscribes');

  it('holds no timer and no abort listener once a call settled: holder, stored token, waiter, fallback, abort', async () => {
    let calls = 0;
    const source = shared(async () => ({ value: `T${(calls += 1)}`, expiresAt: Date.now() + 60_000 }));
    const { keys } = source;
    // The caller's signal lives as long as the process, as a stream's own may.
    const signal = new AbortController().signal;
    const leftovers = async (): Promise<{ timers: number; listeners: number }> => ({
      timers: await timersNow(),
      listeners: getEventListeners(signal, 'abort').length,
    });
    const clean = await leftovers();
    try {
      expect((await call(source, { signal }).result).value, 'the holder').to.equal('T1');
      expect(await leftovers()).to.deep.equal(clean);
      expect((await call(source, { signal }).result).value, 'the stored token').to.equal('T1');
      expect(await leftovers()).to.deep.equal(clean);

      await redis.set(keys.lockKey, 'another-process', 'PX', 60_000);
      const waiter = call(source, { signal, previous: { value: 'T1' } });
      await subscribed(keys.channel);
      await redis.set(keys.tokenKey, JSON.stringify({ value: 'announced', expiresAt: Date.now() + 60_000 }));
      await redis.publish(keys.channel, '1');
      expect((await waiter.result).value, 'the waiter').to.equal('announced');
      expect(await leftovers()).to.deep.equal(clean);

      const aborted = call(source, { previous: { value: 'announced' } });
      await until(async () => getEventListeners(aborted.controller.signal, 'abort').length > 0, 'the wait pauses');
      aborted.controller.abort(new Error('caller gave up'));
      await aborted.result.catch(() => {});
      expect(await leftovers()).to.deep.equal(clean);

      // A lock no process of the fleet wrote: the source is called directly.
      await redis.del(keys.lockKey);
      await redis.rpush(keys.lockKey, 'not-a-lock');
      const fallback = call(source, { signal, previous: { value: 'announced' } });
      expect((await fallback.result).value, 'the fallback').to.equal('T2');
      expect(fallback.reports.map((r) => r.kind)).to.deep.equal(['redis-fallback']);
      expect(await leftovers()).to.deep.equal(clean);
    } finally {
      await source.close();
      await redis.del(keys.tokenKey, keys.lockKey);
    }
  });

  it('lets a script that shares a token through Redis, waits for another process, and returns exit by itself', async function () {
    this.timeout(15_000);
    const { output, code } = await runsToExit('redis-keep-alive.ts', { REDIS_URL: url });
    expect(output).to.equal('T1, then from-another-process, after 1 call');
    expect(code).to.equal(0);
  });
});
