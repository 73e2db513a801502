import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { firstValueFrom, from } from 'rxjs';
import { isTokenError, type SourceReport, type Token, type TokenSource, type TokenSourceContext } from 'rx-token-stream';
import { redisShared, type RedisSharedOptions, type SharedTokenSource } from 'rx-token-stream/redis';
import { freePort, requireRedis } from '../support/redis-server.js';
import { httpSource, startTokenServer, type TokenServer } from './token-server.js';

interface Call {
  result: Promise<Token>;
  reports: SourceReport[];
  controller: AbortController;
}

/** Calls a source as a TokenStream would. */
function call(source: TokenSource, context: Partial<TokenSourceContext> = {}): Call {
  const reports: SourceReport[] = [];
  const controller = new AbortController();
  const result = firstValueFrom(
    from(source({ signal: controller.signal, reason: 'initial', report: (r) => reports.push(r), ...context })),
  );
  result.catch(() => {});
  return { result, reports, controller };
}

/** Polls a condition on a real external process, bounded. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe('redisShared', () => {
  describe('options', () => {
    const source: TokenSource = async () => ({ value: 'x' });
    const base = { redis: 'redis://127.0.0.1:1', key: 'k' };
    const bad: [string, Partial<RedisSharedOptions> | null, RegExp][] = [
      ['options', null, /`options` must be an object/],
      ['redis', { redis: 'http://x' }, /`redis` must be an ioredis client or a redis:\/\/ URL/],
      ['key', { key: '' }, /`key` must be a non-empty string/],
      ['keyPrefix', { keyPrefix: 3 as unknown as string }, /`keyPrefix` must be a string/],
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

    it('refuses a lock that could expire during a source call, and says why', () => {
      expect(() => redisShared(source, { ...base, sourceTimeoutMs: 5_000, lockTtlMs: 5_000 })).to.throw(
        TypeError,
        /`lockTtlMs` must be longer than sourceTimeoutMs \(5000\).*second process call the auth server/,
      );
      // The default follows sourceTimeoutMs, so that raising one alone stays valid.
      const shared = redisShared(source, { ...base, sourceTimeoutMs: 30_000 });
      return shared.close();
    });

    it('refuses a source that is not a function', () => {
      expect(() => redisShared(undefined as never, base)).to.throw(TypeError, /`source` must be a function/);
    });
  });

  describe('against a real Redis', () => {
    let redis: Redis;
    let server: TokenServer;
    const opened: SharedTokenSource[] = [];
    const shared = (options: Partial<RedisSharedOptions> = {}, source?: TokenSource): SharedTokenSource => {
      const made = redisShared(source ?? httpSource(server.url), {
        redis,
        key: `spec-${randomUUID()}`,
        lockTtlMs: 3_000,
        sourceTimeoutMs: 2_000,
        pollMs: 20,
        ...options,
      });
      opened.push(made);
      return made;
    };

    before(async function () {
      const url = requireRedis(this);
      redis = new Redis(url);
    });
    beforeEach(async () => {
      server = await startTokenServer();
    });
    afterEach(async () => {
      const done = opened.splice(0);
      await Promise.all(done.map((source) => source.close()));
      // REDIS_URL may name a Redis that outlives the run: leave nothing behind.
      for (const { keys } of done) await redis.del(keys.tokenKey, keys.lockKey);
      await server.close();
    });
    after(() => {
      redis?.disconnect();
    });

    it('serves a fresh stored token without an auth call', async () => {
      const source = shared();
      const stored = { value: 'stored', expiresAt: Date.now() + 60_000, type: 'Bearer' };
      await redis.set(source.keys.tokenKey, JSON.stringify(stored));
      expect(await call(source).result).to.deep.equal(stored);
      expect(server.calls).to.equal(0);
    });

    it('stores only value, expiresAt and type, for as long as the token lives', async () => {
      const expiresAt = Date.now() + 30_000;
      const source = shared({}, async () => ({ value: 'v1', expiresAt, type: 'DPoP', refreshToken: 'rt-secret' }) as Token);
      await call(source).result;
      const json = await redis.get(source.keys.tokenKey);
      expect(JSON.parse(json as string)).to.deep.equal({ value: 'v1', expiresAt, type: 'DPoP' });
      const ttl = await redis.pttl(source.keys.tokenKey);
      expect(ttl).to.be.greaterThan(25_000).and.at.most(30_000);
      expect(await redis.exists(source.keys.lockKey)).to.equal(0);
    });

    it('stores a token without expiry without a TTL', async () => {
      const source = shared({}, async () => ({ value: 'forever' }));
      await call(source).result;
      expect(await redis.pttl(source.keys.tokenKey)).to.equal(-1);
    });

    it('replaces the token being rejected once; a late rejection of it gets the new one', async () => {
      const source = shared();
      const first = await call(source).result;
      const second = await call(source, { previous: first, reason: 'invalidated' }).result;
      const late = await call(source, { previous: first, reason: 'invalidated' }).result;
      expect(second.value).to.not.equal(first.value);
      expect(late.value).to.equal(second.value);
      expect(server.calls).to.equal(2);
    });

    it('stores nothing when the source hands over something that is not a live token', async () => {
      const source = shared({}, async () => ({ value: 'late', expiresAt: Date.now() - 1 }));
      expect((await call(source).result).value).to.equal('late');
      expect(await redis.exists(source.keys.tokenKey, source.keys.lockKey)).to.equal(0);
    });

    it('fails for good when the source completes without a token', async () => {
      const source = shared({}, () => from([] as Token[]));
      const error = await call(source).result.catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TypeError).and.to.have.property('retryable', false);
      expect(await redis.exists(source.keys.lockKey)).to.equal(0);
    });

    it('passes a source error on unchanged and releases the lock at once', async () => {
      const failure = Object.assign(new Error('invalid_client'), { retryable: false });
      const source = shared({}, async () => {
        throw failure;
      });
      const error = await call(source).result.catch((e: unknown) => e);
      expect(error).to.equal(failure);
      expect(await redis.exists(source.keys.lockKey)).to.equal(0);
    });

    it('aborts a source call that outlives sourceTimeoutMs, and releases the lock', async () => {
      server.hold = true;
      const source = shared({ sourceTimeoutMs: 150, lockTtlMs: 5_000 });
      const { result } = call(source);
      const held = await server.nextHeld();
      const error = await result.catch((e: unknown) => e);
      expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_TIMEOUT');
      await held.gone;
      expect(await redis.exists(source.keys.lockKey)).to.equal(0);
      expect(server.calls).to.equal(1);
    });

    it('takes over when the holder dies and its lock expires', async () => {
      const source = shared();
      await redis.set(source.keys.lockKey, 'a-holder-that-died', 'PX', 200);
      const token = await call(source).result;
      expect(token.value).to.equal('tok-1');
      expect(server.calls).to.equal(1);
      expect(JSON.parse((await redis.get(source.keys.tokenKey)) as string).value).to.equal('tok-1');
    });

    it('wakes every waiter of a process through one subscription when the holder announces', async () => {
      const source = shared({ pollMs: 60_000 });
      await redis.set(source.keys.lockKey, 'another-process', 'PX', 10_000);
      const calls = Array.from({ length: 5 }, () => call(source));
      const subscribers = async (): Promise<number> => {
        const [, count] = (await redis.pubsub('NUMSUB', source.keys.channel)) as [string, number];
        return count;
      };
      await until(async () => (await subscribers()) > 0, 'the waiters subscribe');
      const token = { value: 'announced', expiresAt: Date.now() + 60_000 };
      await redis.set(source.keys.tokenKey, JSON.stringify(token));
      expect(await redis.publish(source.keys.channel, '1')).to.equal(1);
      const tokens = await Promise.all(calls.map((c) => c.result));
      expect(tokens.map((t) => t.value)).to.deep.equal(Array(5).fill('announced'));
      expect(await subscribers()).to.equal(1);
      expect(server.calls).to.equal(0);
    });

    it('stops waiting when the caller aborts', async () => {
      const source = shared();
      await redis.set(source.keys.lockKey, 'another-process', 'PX', 10_000);
      const { result, controller } = call(source);
      await until(async () => ((await redis.pubsub('NUMSUB', source.keys.channel)) as [string, number])[1] === 1, 'subscribed');
      const reason = new Error('caller gave up');
      controller.abort(reason);
      expect(await result.catch((e: unknown) => e)).to.equal(reason);
      expect(server.calls).to.equal(0);
    });

    it('fails a wait longer than waitTimeoutMs with a retryable ERR_TOKEN_TIMEOUT', async () => {
      const source = shared({ waitTimeoutMs: 150 });
      await redis.set(source.keys.lockKey, 'a-slow-process', 'PX', 10_000);
      const error = await call(source).result.catch((e: unknown) => e);
      expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_TIMEOUT');
      expect((error as { retryable?: boolean }).retryable).to.equal(undefined);
      expect(server.calls).to.equal(0);
    });

    it('does not let a holder whose lock expired overwrite the newer token', async () => {
      server.hold = true;
      const key = `spec-${randomUUID()}`;
      const stale = shared({ key });
      const fresh = shared({ key });
      const staleCall = call(stale);
      const staleAuth = await server.nextHeld();
      // Its lock expires in the middle of its auth call, as after a long pause.
      await redis.pexpire(stale.keys.lockKey, 1);
      await until(async () => (await redis.exists(stale.keys.lockKey)) === 0, 'the lock expires');
      const freshCall = call(fresh);
      (await server.nextHeld()).respond({ value: 'newer', expiresAt: Date.now() + 60_000 });
      expect((await freshCall.result).value).to.equal('newer');
      staleAuth.respond({ value: 'older', expiresAt: Date.now() + 60_000 });
      expect((await staleCall.result).value).to.equal('newer');
      expect(JSON.parse((await redis.get(stale.keys.tokenKey)) as string).value).to.equal('newer');
      expect(server.calls).to.equal(2);
    });

    it('looks again after taking the lock, and uses a token stored since its first read', async () => {
      // A client whose lock command waits for the spec: between this process's first read
      // and its SET NX, another process completes a whole refresh.
      let entered: () => void = () => {};
      const atLock = new Promise<void>((resolve) => (entered = resolve));
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      const gated = new Proxy(redis, {
        get(target, property) {
          if (property === 'set') {
            return async (...args: Parameters<Redis['set']>) => {
              entered();
              await gate;
              return (target.set as (...a: unknown[]) => Promise<unknown>)(...args);
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const source = shared({ redis: gated });
      const { result } = call(source);
      await atLock;
      await redis.set(source.keys.tokenKey, JSON.stringify({ value: 'from-elsewhere', expiresAt: Date.now() + 60_000 }));
      release();
      expect((await result).value).to.equal('from-elsewhere');
      expect(server.calls).to.equal(0);
      expect(await redis.exists(source.keys.lockKey)).to.equal(0);
    });

    it('treats unreadable stored data as absent, without quoting it anywhere', async () => {
      const source = shared();
      await redis.set(source.keys.tokenKey, '{"value":"secret-in-redis"');
      const { result, reports } = call(source);
      const token = await result;
      expect(token.value).to.equal('tok-1');
      expect(JSON.stringify(reports)).to.not.include('secret-in-redis');
      expect(inspect(source, { depth: 5 })).to.not.include('tok-1');
    });

    it('closes only what it opened: its own client from a URL, never one passed in', async function () {
      const connections = async (): Promise<number> => String(await redis.client('LIST')).trim().split('\n').length;
      const before = await connections();
      const own = redisShared(httpSource(server.url), {
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
      expect(redis.status).to.equal('ready');
      const error = await call(own).result.catch((e: unknown) => e);
      expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_CLOSED');
      await redis.del(own.keys.tokenKey);
    });

    it('calls the source directly, and says so, when Redis cannot be reached', async () => {
      const port = await freePort();
      const source = redisShared(httpSource(server.url), {
        redis: `redis://127.0.0.1:${port}`,
        key: 'unreachable',
        commandTimeoutMs: 200,
      });
      opened.push(source);
      const first = call(source);
      expect((await first.result).value).to.equal('tok-1');
      const second = call(source, { previous: await first.result });
      expect((await second.result).value).to.equal('tok-2');
      expect(server.calls).to.equal(2);
      for (const { reports } of [first, second]) {
        expect(reports).to.have.length(1);
        expect(reports[0]?.kind).to.equal('redis-fallback');
        expect(reports[0]?.detail).to.match(/^(connect|read): /);
      }
    });
  });
});
