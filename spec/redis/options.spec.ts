import { expect } from 'chai';
import type { TokenSource } from 'rx-token-stream';
import { redisShared, type RedisSharedOptions } from 'rx-token-stream/redis';
import { callLimits, resolveOptions } from '../../lib/redis/options.js';

describe('redisShared options', () => {
  const source: TokenSource = async () => ({ value: 'x' });
  const base = { redis: 'redis://127.0.0.1:1', key: 'k' };
  const bad: [string, Partial<RedisSharedOptions> | null, RegExp][] = [
    ['options', null, /`options` must be an object/],
    ['redis', { redis: 'http://x' }, /`redis` must be an ioredis client or a redis:\/\/ URL/],
    ['key', { key: '' }, /`key` must be a non-empty string/],
    // The key becomes the Redis Cluster hash tag of its names: a brace would move it.
    ['key', { key: '{orders}' }, /`key` must be a non-empty string of at most 512 characters without `\{`, `\}`, NUL or lone surrogates, or a function/],
    ['key', { key: 'x'.repeat(513) }, /`key` must be a non-empty string of at most 512 characters/],
    ['key', { key: 42 as unknown as string }, /`key` must be a non-empty string/],
    ['keyPrefix', { keyPrefix: 3 as unknown as string }, /`keyPrefix` must be a string/],
    ['keyPrefix', { keyPrefix: 'svc{x}:' }, /`keyPrefix` must be a string of at most 512 characters without `\{` or `\}`/],
    ['sourceTimeoutMs', { sourceTimeoutMs: 0 }, /`sourceTimeoutMs` must be a finite number > 0/],
    ['lockTtlMs', { lockTtlMs: Number.NaN }, /`lockTtlMs` must be a finite number > 0/],
    ['waitTimeoutMs', { waitTimeoutMs: -1 }, /`waitTimeoutMs`/],
    ['pollMs', { pollMs: Infinity }, /`pollMs`/],
    ['commandTimeoutMs', { commandTimeoutMs: 0 }, /`commandTimeoutMs`/],
    ['connectTimeoutMs', { connectTimeoutMs: -5 }, /`connectTimeoutMs`/],
    ['scheduler', { scheduler: {} as never }, /`scheduler` must be an RxJS SchedulerLike/],
  ];
  for (const [name, patch, message] of bad) {
    it(`names \`${name}\` in the TypeError when it is invalid`, () => {
      const options = patch === null ? null : { ...base, ...patch };
      expect(() => redisShared(source, options as RedisSharedOptions)).to.throw(TypeError, message);
    });
  }

  // A Node.js timer given more than 2^31 - 1 ms fires at once: every call would time out.
  for (const name of ['sourceTimeoutMs', 'pollMs', 'commandTimeoutMs', 'connectTimeoutMs'] as const) {
    it(`refuses a \`${name}\` longer than the longest timer`, () => {
      const options = { ...base, lockTtlMs: 2 ** 32, [name]: 2 ** 31 };
      expect(() => redisShared(source, options)).to.throw(TypeError, new RegExp(`\`${name}\` .*at most 2147483647`));
      expect(() => redisShared(source, { ...options, [name]: 2 ** 31 - 1 }).close()).to.not.throw();
    });
  }

  it('refuses a lock that could expire during a source call, and says why', () => {
    expect(() => redisShared(source, { ...base, sourceTimeoutMs: 5_000, lockTtlMs: 5_000 })).to.throw(
      TypeError,
      /`lockTtlMs` must be longer than sourceTimeoutMs \(5000\).*second process call the auth server/,
    );
    // The default follows sourceTimeoutMs, so that raising one alone stays valid.
    const shared = redisShared(source, { ...base, sourceTimeoutMs: 30_000 });
    return shared.close();
  });

  it('takes a function of the stream key as `key`', () => redisShared(source, { ...base, key: (tenant) => `orders:${tenant}` }).close());

  it('refuses a source that is not a function', () => {
    expect(() => redisShared(undefined as never, base)).to.throw(TypeError, /`source` must be a function/);
  });
});

describe('redisShared: the bounds of one call follow the stream', () => {
  const base = { redis: 'redis://127.0.0.1:1', key: 'k' } as const;
  const limitsOf = (options: Partial<RedisSharedOptions>, streamLeftMs: number) =>
    callLimits(resolveOptions({ ...base, ...options }), streamLeftMs);

  it('derives the source timeout, the lock and the wait from what is left of the stream attempt', () => {
    expect(limitsOf({}, 2_000)).to.deep.equal({ sourceTimeoutMs: 2_000, lockTtlMs: 3_000, waitTimeoutMs: 6_000 });
    expect(limitsOf({}, 30_000)).to.deep.equal({ sourceTimeoutMs: 30_000, lockTtlMs: 45_000, waitTimeoutMs: 90_000 });
  });

  it('uses 10 s for a call without a deadline, and what is given over what is derived', () => {
    expect(limitsOf({}, Number.POSITIVE_INFINITY)).to.deep.equal({ sourceTimeoutMs: 10_000, lockTtlMs: 15_000, waitTimeoutMs: 30_000 });
    expect(limitsOf({ sourceTimeoutMs: 500 }, 2_000)).to.deep.equal({ sourceTimeoutMs: 500, lockTtlMs: 750, waitTimeoutMs: 1_500 });
    expect(limitsOf({ waitTimeoutMs: 100 }, 2_000)).to.deep.equal({ sourceTimeoutMs: 2_000, lockTtlMs: 3_000, waitTimeoutMs: 100 });
  });

  it('keeps the source call shorter than a given lock', () => {
    expect(limitsOf({ lockTtlMs: 3_000 }, 30_000)).to.deep.equal({ sourceTimeoutMs: 2_000, lockTtlMs: 3_000, waitTimeoutMs: 6_000 });
    expect(limitsOf({ lockTtlMs: 3_000 }, 1_000)).to.deep.equal({ sourceTimeoutMs: 1_000, lockTtlMs: 3_000, waitTimeoutMs: 6_000 });
  });
});
