import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { from } from 'rxjs';
import { isTokenError, type Token } from 'rx-token-stream';
import { redisShared } from 'rx-token-stream/redis';
import { freePort, requireRedis } from '../support/redis-server.js';
import { call, redisHarness, until } from './support.js';
import { httpSource } from './token-server.js';

describe('redisShared against a real Redis', () => {
  const harness = redisHarness();
  const { shared } = harness;

  it('serves a fresh stored token without an auth call', async () => {
    const source = shared();
    const stored = { value: 'stored', expiresAt: Date.now() + 60_000, type: 'Bearer' };
    await harness.redis.set(source.keys.tokenKey, JSON.stringify(stored));
    expect(await call(source).result).to.deep.equal(stored);
    expect(harness.server.calls).to.equal(0);
  });

  it('stores only value, expiresAt, type and when it stored them, for as long as the token lives', async () => {
    const expiresAt = Date.now() + 30_000;
    const source = shared({}, async () => ({ value: 'v1', expiresAt, type: 'DPoP', refreshToken: 'rt-secret' }) as Token);
    const before = Date.now();
    await call(source).result;
    const { issuedAt, ...stored } = JSON.parse((await harness.redis.get(source.keys.tokenKey)) as string) as Token & {
      issuedAt: number;
    };
    expect(stored).to.deep.equal({ value: 'v1', expiresAt, type: 'DPoP' });
    expect(issuedAt).to.be.within(before, Date.now());
    const ttl = await harness.redis.pttl(source.keys.tokenKey);
    expect(ttl).to.be.greaterThan(25_000).and.at.most(30_000);
    expect(await harness.redis.exists(source.keys.lockKey)).to.equal(0);
  });

  it('shares a token that expires in the far future, and releases its lock', async () => {
    for (const expiresAt of [8.64e15, 1e300]) {
      const source = shared({}, async () => ({ value: `far-${expiresAt}`, expiresAt }));
      const { result, reports } = call(source);
      expect((await result).value).to.equal(`far-${expiresAt}`);
      expect(reports).to.deep.equal([]);
      expect(JSON.parse((await harness.redis.get(source.keys.tokenKey)) as string).expiresAt).to.equal(expiresAt);
      expect(await harness.redis.exists(source.keys.lockKey)).to.equal(0);
    }
  });

  it('stores a token without expiry without a TTL', async () => {
    const source = shared({}, async () => ({ value: 'forever' }));
    await call(source).result;
    expect(await harness.redis.pttl(source.keys.tokenKey)).to.equal(-1);
  });

  it('replaces the token being rejected once; a late rejection of it gets the new one', async () => {
    const source = shared();
    const first = await call(source).result;
    const second = await call(source, { previous: first, reason: 'invalidated' }).result;
    const late = await call(source, { previous: first, reason: 'invalidated' }).result;
    expect(second.value).to.not.equal(first.value);
    expect(late.value).to.equal(second.value);
    expect(harness.server.calls).to.equal(2);
  });

  it('fails for good, storing nothing, when the source hands over something that is not a live token', async () => {
    const source = shared({}, async () => ({ value: 'late', expiresAt: Date.now() - 1 }));
    const error = await call(source).result.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TypeError).and.to.have.property('retryable', false);
    expect((error as Error).message).to.match(/already expired/);
    expect(await harness.redis.exists(source.keys.tokenKey, source.keys.lockKey)).to.equal(0);
  });

  it('fails for good when the source completes without a token', async () => {
    const source = shared({}, () => from([] as Token[]));
    const error = await call(source).result.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TypeError).and.to.have.property('retryable', false);
    expect(await harness.redis.exists(source.keys.lockKey)).to.equal(0);
  });

  it('passes a source error on unchanged and releases the lock at once', async () => {
    const failure = Object.assign(new Error('invalid_client'), { retryable: false });
    const source = shared({}, async () => {
      throw failure;
    });
    const error = await call(source).result.catch((e: unknown) => e);
    expect(error).to.equal(failure);
    expect(await harness.redis.exists(source.keys.lockKey)).to.equal(0);
  });

  it('aborts a source call that outlives sourceTimeoutMs, and releases the lock', async () => {
    harness.server.hold = true;
    const source = shared({ sourceTimeoutMs: 150, lockTtlMs: 5_000 });
    const { result } = call(source);
    const held = await harness.server.nextHeld();
    const error = await result.catch((e: unknown) => e);
    expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_TIMEOUT');
    await held.gone;
    expect(await harness.redis.exists(source.keys.lockKey)).to.equal(0);
    expect(harness.server.calls).to.equal(1);
  });

  it('wakes every waiter of a process through one subscription when the holder announces', async () => {
    const source = shared({ pollMs: 60_000 });
    await harness.redis.set(source.keys.lockKey, 'another-process', 'PX', 10_000);
    const calls = Array.from({ length: 5 }, () => call(source));
    const subscribers = async (): Promise<number> => {
      const [, count] = (await harness.redis.pubsub('NUMSUB', source.keys.channel)) as [string, number];
      return count;
    };
    await until(async () => (await subscribers()) > 0, 'the waiters subscribe');
    const token = { value: 'announced', expiresAt: Date.now() + 60_000 };
    await harness.redis.set(source.keys.tokenKey, JSON.stringify(token));
    expect(await harness.redis.publish(source.keys.channel, '1')).to.equal(1);
    const tokens = await Promise.all(calls.map((c) => c.result));
    expect(tokens.map((t) => t.value)).to.deep.equal(Array(5).fill('announced'));
    expect(await subscribers()).to.equal(1);
    expect(harness.server.calls).to.equal(0);
  });

  it('stops waiting when the caller aborts', async () => {
    const source = shared();
    await harness.redis.set(source.keys.lockKey, 'another-process', 'PX', 10_000);
    const { result, controller } = call(source);
    await until(async () => ((await harness.redis.pubsub('NUMSUB', source.keys.channel)) as [string, number])[1] === 1, 'subscribed');
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await result.catch((e: unknown) => e)).to.equal(reason);
    expect(harness.server.calls).to.equal(0);
  });

  it('ends a wait, and leaves the lock alone, when the shared source is closed', async () => {
    const source = shared();
    await harness.redis.set(source.keys.lockKey, 'another-process', 'PX', 10_000);
    const { result } = call(source);
    await until(async () => ((await harness.redis.pubsub('NUMSUB', source.keys.channel)) as [string, number])[1] === 1, 'subscribed');
    await source.close();
    const error = await result.catch((e: unknown) => e);
    expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_CLOSED');
    expect(await harness.redis.get(source.keys.lockKey)).to.equal('another-process');
    expect(harness.server.calls).to.equal(0);
  });

  it('releases its lock when it is closed in the middle of its source call', async () => {
    harness.server.hold = true;
    const source = shared();
    const { result } = call(source);
    const held = await harness.server.nextHeld();
    await source.close();
    expect(await harness.redis.exists(source.keys.lockKey), 'another process may take over at once').to.equal(0);
    const error = await result.catch((e: unknown) => e);
    expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_CLOSED');
    await held.gone;
  });

  it('fails a wait longer than waitTimeoutMs with a retryable ERR_TOKEN_TIMEOUT', async () => {
    const source = shared({ waitTimeoutMs: 150 });
    await harness.redis.set(source.keys.lockKey, 'a-slow-process', 'PX', 10_000);
    const error = await call(source).result.catch((e: unknown) => e);
    expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_TIMEOUT');
    expect((error as { retryable?: boolean }).retryable).to.equal(undefined);
    expect(harness.server.calls).to.equal(0);
  });

  it('treats unreadable stored data as absent, without quoting it anywhere', async () => {
    const source = shared();
    await harness.redis.set(source.keys.tokenKey, '{"value":"secret-in-redis"');
    const { result, reports } = call(source);
    const token = await result;
    expect(token.value).to.equal('tok-1');
    expect(JSON.stringify(reports)).to.not.include('secret-in-redis');
    expect(inspect(source, { depth: 5 })).to.not.include('tok-1');
  });

  it('closes only what it opened: its own client from a URL, never one passed in', async function () {
    const connections = async (): Promise<number> => String(await harness.redis.client('LIST')).trim().split('\n').length;
    const before = await connections();
    const own = redisShared(httpSource(harness.server.url), {
      redis: requireRedis(this),
      key: `spec-${randomUUID()}`,
      sourceTimeoutMs: 2_000,
    });
    await call(own).result;
    expect(await connections()).to.equal(before + 1);
    const passed = shared();
    await call(passed).result;
    await Promise.all([own.close(), passed.close()]);
    await until(async () => (await connections()) === before, 'the owned connection is gone');
    expect(harness.redis.status).to.equal('ready');
    const error = await call(own).result.catch((e: unknown) => e);
    expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_CLOSED');
    await harness.redis.del(own.keys.tokenKey);
  });

  it('waits once for its first connection, however many calls start at once', async function () {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      // From a URL: a client that connects on its first command.
      const source = shared({ redis: requireRedis(this) });
      const calls = Array.from({ length: 20 }, () => call(source));
      const values = await Promise.all(calls.map(({ result }) => result.then((token) => token.value)));
      expect(new Set(values)).to.deep.equal(new Set(['tok-1']));
      expect(harness.server.calls).to.equal(1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).to.not.include('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('calls the source directly, and says so, when Redis cannot be reached', async () => {
    const port = await freePort();
    const source = shared({ redis: `redis://127.0.0.1:${port}`, commandTimeoutMs: 200 });
    const first = call(source);
    expect((await first.result).value).to.equal('tok-1');
    const second = call(source, { previous: await first.result });
    expect((await second.result).value).to.equal('tok-2');
    expect(harness.server.calls).to.equal(2);
    for (const { reports } of [first, second]) {
      expect(reports).to.have.length(1);
      expect(reports[0]?.kind).to.equal('redis-fallback');
      expect(reports[0]?.detail).to.match(/^(connect|read): /);
    }
  });
});
