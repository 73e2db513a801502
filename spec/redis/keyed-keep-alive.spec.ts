// A keyed shared source leaves nothing that keeps the process alive, whatever the number of
// keys: no timer, no abort listener once its calls settled, no connection after close().
import { expect } from 'chai';
import { getEventListeners, setMaxListeners } from 'node:events';
import type { Token } from 'rx-token-stream';
import { redisShared, type KeyedSharedTokenSource } from 'rx-token-stream/redis';
import { LONG_REDIS_DELAYS, killScripts, runsToExit, timersNow } from '../support/keep-alive.js';
import { requireRedis } from '../support/redis-server.js';
import { call, redisHarness, until } from './support.js';

describe('redisShared with a key function never keeps the process alive', () => {
  const harness = redisHarness();
  after(killScripts);

  it('holds no timer and no abort listener once its calls settled: holders, stored tokens, a waiter, an abort, a fallback', async () => {
    let calls = 0;
    const keyPrefix = `keep-alive-${Date.now()}:`;
    // Every delay far longer than a spec: a timer or a listener left behind shows in a count.
    const source: KeyedSharedTokenSource = redisShared(
      async ({ key }): Promise<Token> => ({ value: `${key}-T${(calls += 1)}`, expiresAt: Date.now() + 60_000 }),
      {
        redis: harness.redis,
        key: (tenant) => `orders:${tenant}`,
        keyPrefix,
        ...LONG_REDIS_DELAYS,
      },
    );
    const tenants = Array.from({ length: 100 }, (_, i) => `tenant-${i}`);
    // The caller's signal lives as long as the process, as a stream's own may; here 100
    // calls at once share it, so more than Node's ten listeners at once are expected.
    const signal = new AbortController().signal;
    setMaxListeners(tenants.length, signal);
    const leftovers = async (): Promise<{ timers: number; listeners: number }> => ({
      timers: await timersNow(),
      listeners: getEventListeners(signal, 'abort').length,
    });
    const clean = await leftovers();
    // Timers of earlier specs (an idle HTTP connection's) may expire meanwhile: none may be added.
    const noneLeft = async (): Promise<void> => {
      const now = await leftovers();
      expect(now.timers, 'timers').to.be.at.most(clean.timers);
      expect(now.listeners, 'abort listeners').to.equal(clean.listeners);
    };
    const all = (): Promise<Token[]> => Promise.all(tenants.map((key) => call(source, { signal, key }).result));
    try {
      expect((await all()).length, 'the holders').to.equal(100);
      await noneLeft();
      await all();
      expect(calls, 'the stored tokens').to.equal(100);
      await noneLeft();

      const keys = source.keysFor('tenant-3');
      await harness.redis.set(keys.lockKey, 'another-process', 'PX', 60_000);
      const waiter = call(source, { signal, key: 'tenant-3', previous: { value: 'tenant-3-T4' } });
      await until(async () => Number(await harness.redis.pubsub('NUMPAT')) === 1, 'the waiter subscribes');
      await harness.redis.set(keys.tokenKey, JSON.stringify({ value: 'announced', expiresAt: Date.now() + 60_000 }));
      await harness.redis.publish(keys.channel, '1');
      expect((await waiter.result).value, 'the waiter').to.equal('announced');
      await noneLeft();

      const aborted = call(source, { key: 'tenant-3', previous: { value: 'announced' } });
      await until(async () => getEventListeners(aborted.controller.signal, 'abort').length > 0, 'the wait starts');
      aborted.controller.abort(new Error('caller gave up'));
      await aborted.result.catch(() => {});
      await noneLeft();

      // A lock no process of the fleet wrote: the source is called directly.
      await harness.redis.del(keys.lockKey);
      await harness.redis.rpush(keys.lockKey, 'not-a-lock');
      const fallback = call(source, { signal, key: 'tenant-3', previous: { value: 'announced' } });
      expect((await fallback.result).value, 'the fallback').to.equal('tenant-3-T101');
      expect(fallback.reports.map((r) => r.kind)).to.deep.equal(['redis-fallback']);
      await noneLeft();
    } finally {
      await source.close();
      const left = await harness.redis.keys(`${keyPrefix}*`);
      if (left.length > 0) await harness.redis.del(...left);
    }
  });

  it('lets a script with a TokenStreams of 50 tenants over a keyed source exit by itself', async function () {
    this.timeout(15_000);
    const { output, code } = await runsToExit('redis-keyed-keep-alive.ts', { REDIS_URL: requireRedis(this) });
    expect(output).to.equal('50 tenants after 50 calls, then from-another-process');
    expect(code).to.equal(0);
  });
});
