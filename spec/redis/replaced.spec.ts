// A token a process replaced is never taken back from Redis. Redis can still hold one: when
// it could not take a rotation (down, or a key it cannot use), each process replaced the
// token on its own and none could store its replacement; once Redis answers again, it holds
// the token the fleet rejected.
import { expect } from 'chai';
import { TokenStream } from 'rx-token-stream';
import { ReplacedTokens, REPLACED_KEYS } from '../../lib/redis/replaced-tokens.js';
import { redisHarness } from './support.js';

describe('redisShared never takes back a token it replaced', () => {
  const harness = redisHarness();

  it('calls the source rather than serve the token a fallback replaced, which Redis kept', async () => {
    const source = harness.shared({ pollMs: 50 });
    const tokens = new TokenStream({ source, timeoutMs: 2_000, retry: { count: 0 } });
    try {
      const first = await tokens.getToken();
      // A lock Redis cannot use: the rotation falls back, and stores nothing.
      await harness.redis.hset(source.keys.lockKey, 'owner', 'x');
      tokens.invalidate(first);
      const second = await tokens.getToken();
      expect(JSON.parse((await harness.redis.get(source.keys.tokenKey)) as string), 'Redis kept the replaced token').to.include({ value: first.value });
      await harness.redis.del(source.keys.lockKey);
      // The next rotation: Redis answers, and still holds the first token, unexpired.
      tokens.invalidate(second);
      const third = await tokens.getToken();
      expect([first.value, second.value, third.value]).to.deep.equal(['tok-1', 'tok-2', 'tok-3']);
      expect(harness.server.calls).to.equal(3);
      expect(JSON.parse((await harness.redis.get(source.keys.tokenKey)) as string), 'the fleet shares the new one').to.include({ value: 'tok-3' });
    } finally {
      tokens.close();
    }
  });

  it('holds at most 4 tokens of a key and REPLACED_KEYS keys, the least recent forgotten first', () => {
    const replaced = new ReplacedTokens();
    for (let i = 1; i <= 5; i += 1) replaced.add('k', `token-${i}`);
    expect(['token-1', 'token-2', 'token-5'].map((value) => replaced.has('k', value))).to.deep.equal([false, true, true]);
    replaced.add('first', 'a');
    for (let i = 0; i < REPLACED_KEYS; i += 1) replaced.add(`key-${i}`, 'b');
    expect([replaced.has('first', 'a'), replaced.has(`key-${REPLACED_KEYS - 1}`, 'b'), replaced.has('key-0', 'c')]).to.deep.equal([false, true, false]);
  });
});
