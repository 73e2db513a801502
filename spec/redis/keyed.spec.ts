// redisShared with a key function, in one process: a token per stream key, where it lives,
// what a call must bring, and what a thousand keys cost (issue 12).
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { isTokenError, TokenStream, TokenStreams, type Token, type TokenSource } from 'rx-token-stream';
import { redisShared, sharedKeys, type KeyedSharedTokenSource, type RedisSharedOptions } from 'rx-token-stream/redis';
import { requireRedis } from '../support/redis-server.js';
import { clusterNode } from './cluster-node.js';
import { counted, ManualScheduler } from './counted.js';
import { call, clientsNamed, commandsBetween, commandsServed, redisHarness, until } from './support.js';
import { httpSource } from './token-server.js';

const orders = (tenant: string): string => `orders:${tenant}`;

describe('redisShared with a key function (issue 12)', () => {
  const harness = redisHarness();
  const opened: { source: KeyedSharedTokenSource; keyPrefix: string }[] = [];
  const streams: (TokenStream | TokenStreams)[] = [];
  afterEach(async () => {
    for (const tokens of streams.splice(0)) tokens.close();
    for (const { source, keyPrefix } of opened.splice(0)) {
      await source.close();
      // REDIS_URL may name a Redis that outlives the run: leave nothing behind.
      const left = await harness.redis.keys(`${keyPrefix}*`);
      if (left.length > 0) await harness.redis.del(...left);
    }
  });

  /** A keyed shared source on a fresh prefix, over the token server unless `source` is given. */
  function keyed(options: Partial<RedisSharedOptions> = {}, source?: TokenSource): KeyedSharedTokenSource {
    const keyPrefix = `spec-${randomUUID()}:`;
    const made = redisShared(source ?? httpSource(harness.server.url), {
      redis: harness.redis,
      key: orders,
      keyPrefix,
      pollMs: 20,
      ...options,
    } as RedisSharedOptions & { key: (streamKey: string) => string });
    opened.push({ source: made, keyPrefix: options.keyPrefix ?? keyPrefix });
    return made;
  }
  const tokensOf = <T extends TokenStream | TokenStreams>(tokens: T): T => {
    streams.push(tokens);
    return tokens;
  };

  it('serves each stream key its own token, stored under <keyPrefix>{<key>}, with one auth call per key', async () => {
    const source = keyed();
    const tokens = tokensOf(new TokenStreams({ source }));
    const values = await Promise.all(['a', 'b', 'a', 'b'].map(async (key) => (await tokens.getToken(key)).value));
    expect(values[0]).to.match(/^tok-\d-a$/);
    expect(values[1]).to.match(/^tok-\d-b$/);
    expect(values.slice(2)).to.deep.equal(values.slice(0, 2));
    expect(Object.fromEntries(harness.server.callsByKey)).to.deep.equal({ a: 1, b: 1 });
    const keys = source.keysFor('a');
    expect(keys.tokenKey).to.equal(`${opened[0]?.keyPrefix}{orders:a}`);
    expect(JSON.parse((await harness.redis.get(keys.tokenKey)) as string).value).to.equal(values[0]);
  });

  it('shares each key between processes, and never serves one key\'s token for another', async () => {
    const first = keyed();
    const keyPrefix = opened[0]?.keyPrefix as string;
    const [one, two] = [tokensOf(new TokenStreams({ source: first })), tokensOf(new TokenStreams({ source: keyed({ keyPrefix }) }))];
    const a = await one.getToken('a');
    expect((await two.getToken('a')).value, 'from Redis').to.equal(a.value);
    const b = await two.getToken('b');
    expect(b.value).to.match(/-b$/);
    expect((await one.getToken('b')).value).to.equal(b.value);
    expect(harness.server.calls).to.equal(2);
  });

  it('fails a call without context.key for good, before any Redis command or auth call', async () => {
    const tokens = tokensOf(new TokenStream({ source: keyed() }));
    const before = await commandsServed(harness.redis);
    const error = await tokens.getToken().catch((e: unknown) => e);
    expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_REFRESH');
    expect((error as { attempts: number }).attempts, 'not retried').to.equal(1);
    const { cause } = error as { cause: Error & { retryable?: boolean } };
    expect(cause).to.be.instanceOf(TypeError);
    expect(cause.retryable).to.equal(false);
    expect(cause.message).to.match(/`key` is a function of the stream key, so each call needs `context.key`: use this source in a TokenStreams/);
    expect(commandsBetween(before, await commandsServed(harness.redis)).total).to.equal(0);
    expect(harness.server.calls).to.equal(0);
  });

  it('checks what the key function returns on every call, naming the rule but never the key', async () => {
    const returns = new Map<string, unknown>([
      ['empty', ''],
      ['number', 42],
      ['undefined', undefined],
      ['long', 'secret-tenant-'.repeat(40)],
      ['open brace', 'secret-tenant-{x'],
      ['close brace', 'secret-tenant-}x'],
      ['hash tag', '{secret-tenant}'],
      ['lone surrogate', 'secret-tenant-\uD800'],
      ['NUL', 'secret-tenant\0'],
    ]);
    let mapping = (tenant: string): unknown => (returns.has(tenant) ? returns.get(tenant) : orders(tenant));
    const source = keyed({ key: (tenant: string) => mapping(tenant) as string });
    expect((await call(source, { key: 'fine' }).result).value).to.equal('tok-1-fine');
    for (const tenant of returns.keys()) {
      const error = await call(source, { key: tenant }).result.catch((e: unknown) => e);
      expect(error, tenant).to.be.instanceOf(TypeError).and.to.have.property('retryable', false);
      expect((error as Error).message).to.equal(
        'redisShared: option `key` must return a non-empty string of at most 512 characters without `{`, `}`, NUL or lone surrogates',
      );
      expect(inspect(error)).to.not.include('secret-tenant');
    }
    // No mapping is kept: a key that stops being usable fails from then on.
    mapping = () => '';
    const error = await call(source, { key: 'fine' }).result.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TypeError);
    expect(harness.server.calls).to.equal(1);
  });

  it('fails a call with the error a key function throws, as a source error, before any Redis command', async () => {
    const refused = new Error('no such tenant');
    const source = keyed({
      key: (tenant: string) => {
        if (tenant === 'unknown') throw refused;
        return orders(tenant);
      },
    });
    const before = await commandsServed(harness.redis);
    expect(await call(source, { key: 'unknown' }).result.catch((e: unknown) => e)).to.equal(refused);
    expect(commandsBetween(before, await commandsServed(harness.redis)).total).to.equal(0);
    expect(harness.server.calls).to.equal(0);
  });

  it('names its keys as sharedKeys() does, for a string key and for a key function', () => {
    expect(sharedKeys({ key: 'orders-api', keyPrefix: 'svc:' })).to.deep.equal({
      tokenKey: 'svc:{orders-api}',
      lockKey: 'svc:{orders-api}:lock',
      channel: 'svc:{orders-api}:updated',
    });
    const source = keyed();
    const { keyPrefix } = opened[0] as { keyPrefix: string };
    expect(sharedKeys({ key: orders, keyPrefix }, 'tenant-42')).to.deep.equal(source.keysFor('tenant-42'));
    expect(source.keysFor('tenant-42').tokenKey).to.equal(`${keyPrefix}{orders:tenant-42}`);
    expect(source.pattern).to.equal(`${keyPrefix}{*}:updated`);
    expect(() => sharedKeys({ key: orders })).to.throw(TypeError, /needs `context.key`/);
    expect(() => sharedKeys({ key: 'a{b}' })).to.throw(TypeError, /`key` must be .* without `\{`, `\}`/);
    expect(() => sharedKeys({ key: 'k', keyPrefix: 'svc{x}:' })).to.throw(TypeError, /`keyPrefix` must be .* without `\{` or `\}`/);
  });

  it('takes a prefix with glob characters literally in its pattern', async () => {
    const id = randomUUID();
    const source = keyed({ keyPrefix: `spec-${id}:[*?]\\:` });
    expect(source.pattern).to.equal(`spec-${id}:\\[\\*\\?\\]\\\\:{*}:updated`);
    await harness.redis.set(source.keysFor('a').lockKey, 'another-process', 'PX', 10_000);
    const waiter = call(source, { key: 'a' });
    await until(async () => Number(await harness.redis.pubsub('NUMPAT')) === 1, 'the waiter subscribes');
    await harness.redis.set(source.keysFor('a').tokenKey, JSON.stringify({ value: 'announced', expiresAt: Date.now() + 60_000 }));
    await harness.redis.publish(source.keysFor('a').channel, '1');
    expect((await waiter.result).value).to.equal('announced');
  });

  describe('with many keys at once', () => {
    it('sends the commands of many keys as one pipeline per step', async () => {
      const redis = counted(harness.redis);
      const expiresAt = Date.now() + 60_000;
      const source = keyed({ redis: redis.client }, async ({ key }) => ({ value: `t-${key}`, expiresAt }));
      const tokens = tokensOf(new TokenStreams({ source }));
      const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
      const values = await Promise.all(keys.map(async (key) => (await tokens.getToken(key)).value));
      expect(values).to.deep.equal(keys.map((key) => `t-${key}`));
      // A read, the race for the lock, a read under it and the write: 800 commands in 4 round trips.
      expect(redis.reads() + redis.sets()).to.equal(4 * keys.length);
      expect(redis.roundTrips()).to.equal(4);
    });

    it('wakes only the waiters of the key announced, and reads each key once per pollMs', async () => {
      const scheduler = new ManualScheduler();
      const redis = counted(harness.redis);
      const source = keyed({ redis: redis.client, scheduler, pollMs: 100, waitTimeoutMs: 60_000, commandTimeoutMs: 1_000_000 });
      const [a, b] = [source.keysFor('a'), source.keysFor('b')];
      for (const { lockKey } of [a, b]) await harness.redis.set(lockKey, 'another-process', 'PX', 10_000);
      const [waitA, waitB] = [call(source, { key: 'a' }), call(source, { key: 'b' })];
      // A read before the lock, and the first of the wait, for each key.
      await until(() => redis.reads() === 4, 'the first read of each wait');
      // A PING on the subscriber connection is answered after every message sent before it.
      const seen = async (): Promise<void> => {
        await redis.subscribers[0]?.ping();
        for (let i = 0; i < 5; i += 1) await harness.redis.ping();
      };
      await Promise.all(Array.from({ length: 200 }, () => harness.redis.publish(b.channel, 'spam')));
      await seen();
      expect(redis.reads(), 'one read, of b only').to.equal(5);
      await harness.redis.set(a.tokenKey, JSON.stringify({ value: 'for-a', expiresAt: Date.now() + 60_000 }));
      await harness.redis.publish(a.channel, '1');
      expect((await waitA.result).value).to.equal('for-a');
      expect(redis.reads()).to.equal(6);
      scheduler.advance(100);
      await until(() => redis.reads() === 7, 'the next tick reads b');
      await seen();
      expect(redis.reads(), 'b only: a has no waiter').to.equal(7);
      await harness.redis.set(b.tokenKey, JSON.stringify({ value: 'for-b', expiresAt: Date.now() + 60_000 }));
      scheduler.advance(100);
      expect((await waitB.result).value).to.equal('for-b');
    });

    it('holds one subscriber connection with one pattern, whatever the number of keys it waits for', async function () {
      const name = `spec-${randomUUID()}`;
      const source = keyed({ redis: `${requireRedis(this)}?connectionName=${name}` });
      const keys = Array.from({ length: 100 }, (_, i) => source.keysFor(`k${i}`));
      for (const { lockKey } of keys) await harness.redis.set(lockKey, 'another-process', 'PX', 10_000);
      const waits = keys.map((_, i) => call(source, { key: `k${i}` }));
      await until(async () => (await clientsNamed(harness.redis, name)).some((client) => client.psub === 1), 'the waiters subscribe');
      const subscriptions = async (): Promise<string> =>
        JSON.stringify((await clientsNamed(harness.redis, name)).map(({ sub, psub }) => ({ sub, psub })).sort((x, y) => x.psub - y.psub));
      expect(await subscriptions(), 'while 100 keys wait').to.equal('[{"sub":0,"psub":0},{"sub":0,"psub":1}]');
      for (const { tokenKey, channel } of keys) {
        await harness.redis.set(tokenKey, JSON.stringify({ value: 'stored', expiresAt: Date.now() + 60_000 }));
        await harness.redis.publish(channel, '1');
      }
      expect(new Set(await Promise.all(waits.map(({ result }) => result.then((token: Token) => token.value))))).to.deep.equal(new Set(['stored']));
      expect(await subscriptions(), 'at rest, 100 keys held').to.equal('[{"sub":0,"psub":0},{"sub":0,"psub":1}]');
      await source.close();
      await until(async () => (await clientsNamed(harness.redis, name)).length === 0, 'close() lets go of both connections');
    });
  });
});

describe('redisShared key layout on a Redis Cluster', function () {
  this.timeout(20_000);
  let cluster: Redis | undefined;
  let stop: (() => Promise<void>) | undefined;
  before(async function () {
    ({ client: cluster, stop } = await clusterNode(this));
  });
  after(async () => {
    cluster?.disconnect();
    await stop?.();
  });

  const slotOf = async (key: string): Promise<number> => Number(await (cluster as Redis).cluster('KEYSLOT', key));

  it('puts the token and the lock of every key in one slot, whatever the key holds', async () => {
    const tenants = ['t', 'tenant-42', 'a:b:c', 'with space', 'ünïcode', '*?[]\\', 'x'.repeat(500)];
    for (const tenant of tenants) {
      const { tokenKey, lockKey } = sharedKeys({ key: orders, keyPrefix: 'svc:*?:' }, tenant);
      expect(await slotOf(lockKey), tenant).to.equal(await slotOf(tokenKey));
      expect(await slotOf(tokenKey), tenant).to.equal(await slotOf(orders(tenant)));
    }
  });

  it('spreads the keys of 1,000 tenants over the slots of 3 shards', async () => {
    const slots = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => slotOf(sharedKeys({ key: orders, keyPrefix: 'svc:' }, `tenant-${i}`).tokenKey)),
    );
    expect(new Set(slots).size, 'distinct slots').to.be.above(900);
    // The ranges `redis-cli --cluster create` gives 3 primaries.
    const shards = [0, 0, 0];
    for (const slot of slots) {
      const shard = slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2;
      shards[shard] = (shards[shard] ?? 0) + 1;
    }
    for (const count of shards) expect(count).to.be.within(280, 390);
  });
});
