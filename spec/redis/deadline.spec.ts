import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { TokenStream, type Token } from 'rx-token-stream';
import { redisShared } from 'rx-token-stream/redis';
import { deferred } from '../support/marbles.js';
import { redisHarness, until } from './support.js';

describe("redisShared: the stream's deadline travels", () => {
  const harness = redisHarness();

  it("bounds the holder's lock by the stream's timeoutMs, with nothing copied into redisShared's options", async () => {
    const pending = deferred<Token>();
    const source = redisShared(() => pending.promise, { redis: harness.redis, key: `spec-${randomUUID()}` });
    const tokens = new TokenStream({ source, timeoutMs: 2_000, retry: { count: 0 } });
    try {
      const waiting = tokens.getToken().catch(() => undefined);
      await until(async () => (await harness.redis.exists(source.keys.lockKey)) === 1, 'the holder takes the lock');
      const ttl = await harness.redis.pttl(source.keys.lockKey);
      // 1.5 x what was left of the stream's 2 s attempt, not 1.5 x a default 10 s.
      expect(ttl).to.be.within(2_000, 3_000);
      pending.resolve({ value: 'shared', expiresAt: Date.now() + 60_000 });
      await waiting;
    } finally {
      tokens.close();
      await source.close();
      await harness.redis.del(source.keys.tokenKey, source.keys.lockKey);
    }
  });
});
