import { expect } from 'chai';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisCredentialStore, type RedisCredentialStore } from 'rx-token-stream/redis';
import { requireRedis } from '../support/redis-server.js';
import { credentialStoreContract } from './store-contract.js';
import { until } from './support.js';

const ACCESS = { value: 'at-redis-must-not-leak-5', expiresAt: Date.now() + 3_600_000, type: 'Bearer' };

/** AES-256-GCM with a key only this process knows, as a KMS-held key would be. */
function aesGcm(key = randomBytes(32)): { seal: (text: string) => string; unseal: (sealed: string) => string } {
  return {
    seal(text) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    unseal(sealed) {
      const bytes = Buffer.from(sealed, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

describe('redisCredentialStore', () => {
  let redis: Redis;
  let prefix: string;
  let stores: RedisCredentialStore[];
  before(function () {
    redis = new Redis(requireRedis(this));
  });
  beforeEach(() => {
    prefix = `spec-creds-${randomUUID()}:`;
    stores = [];
  });
  afterEach(async () => {
    await Promise.all(stores.map((store) => store.close()));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  });
  after(() => redis?.disconnect());

  const open = (options: Partial<Parameters<typeof redisCredentialStore>[0]> = {}): RedisCredentialStore => {
    const store = redisCredentialStore({ redis, keyPrefix: prefix, ...options });
    stores.push(store);
    return store;
  };

  describe('the store contract', () => {
    let store: RedisCredentialStore;
    beforeEach(() => {
      store = open();
    });
    credentialStoreContract(() => ({
      store,
      // A real lease on a real server: wait until Redis has let it expire.
      expire: (key) => until(async () => (await redis.pttl(store.keys(key).lease)) === -2, 'the lease expired'),
      listening: () => until(async () => ((await redis.pubsub('NUMSUB', `${prefix}changed`)) as [string, number])[1] === 1, 'subscribed'),
    }));
  });

  it('keeps no refresh token or access token readable in Redis with seal, and reads them back with unseal', async () => {
    const store = open(aesGcm());
    await store.put('user-1', { refreshToken: 'rt-sealed-must-not-leak-1' });
    const fence = (await store.lease('user-1', 10_000)) as number;
    await store.save('user-1', { version: 1, fence }, { refreshToken: 'rt-sealed-must-not-leak-2', accessToken: ACCESS });
    const dump = JSON.stringify(await Promise.all((await redis.keys(`${prefix}*`)).map(async (key) => [key, await redis.hgetall(key).catch(() => redis.get(key))])));
    expect(dump).to.include(`${prefix}{user-1}`);
    for (const secret of ['rt-sealed-must-not-leak', ACCESS.value]) expect(dump).not.to.include(secret);
    const credential = await store.get('user-1');
    expect(credential).to.deep.include({ refreshToken: 'rt-sealed-must-not-leak-2', version: 2 });
    expect(credential?.accessToken).to.deep.equal(ACCESS);
  });

  it('counts a value it cannot unseal (another key, tampered) as no credential, and lets put replace it', async () => {
    await open(aesGcm()).put('user-1', { refreshToken: 'rt-other-key' });
    const store = open(aesGcm());
    expect(await store.get('user-1')).to.equal(undefined);
    expect(await store.put('user-1', { refreshToken: 'rt-mine' })).to.equal(2);
    expect(await store.get('user-1')).to.deep.include({ refreshToken: 'rt-mine', version: 2 });
  });

  it('reads poisoned values as no credential, or leaves out what is broken, and never fails a step on them', async () => {
    const store = open();
    const { credential, lease } = store.keys('user-1');
    const secret = JSON.stringify({ refreshToken: 'rt-ok', accessToken: ACCESS });
    const poisons: [string, () => Promise<unknown>, unknown][] = [
      ['a string', () => redis.set(credential, 'x'), undefined],
      ['a list', () => redis.rpush(credential, 'x'), undefined],
      ['no version', () => redis.hset(credential, 'secret', secret), undefined],
      ['a fractional version', () => redis.hset(credential, 'version', '1.5', 'secret', secret), undefined],
      ['a version with a leading zero, which no save would match', () => redis.hset(credential, 'version', '01', 'secret', secret), undefined],
      ['a secret that is not JSON', () => redis.hset(credential, 'version', '1', 'secret', '{"refreshToken":'), undefined],
      ['a refresh token with a newline', () => redis.hset(credential, 'version', '1', 'secret', JSON.stringify({ refreshToken: 'a\nb' })), undefined],
      ['a secret too large to read', () => redis.hset(credential, 'version', '1', 'secret', 'x'.repeat(200_000)), undefined],
      ['an access token no header carries', () => redis.hset(credential, 'version', '3', 'secret', JSON.stringify({ refreshToken: 'rt-ok', accessToken: { value: 'a\r\nb' } })), { version: 3 }],
      ['a refused mark of another shape', () => redis.hset(credential, 'version', '4', 'secret', secret, 'refused', '{"reason":"refused"'), { version: 4 }],
      ['a refused mark too large to be one', () => redis.hset(credential, 'version', '5', 'secret', secret, 'refused', 'x'.repeat(100_000)), { version: 5 }],
    ];
    for (const [what, poison, expected] of poisons) {
      await redis.del(credential);
      await poison();
      const read = await store.get('user-1');
      if (expected === undefined) expect(read, what).to.equal(undefined);
      else {
        expect(read, what).to.deep.include(expected as object);
        expect(read?.failure, what).to.equal(undefined);
      }
      if (what === 'an access token no header carries') expect(read?.accessToken, what).to.equal(undefined);
    }
    // A lease key without expiry was not written by a store: it is taken over, not waited on.
    await redis.del(credential);
    await store.put('user-1', { refreshToken: 'rt-ok' });
    await redis.set(lease, 'forever');
    expect(await store.lease('user-1', 10_000)).to.be.a('number');
    await redis.del(lease);
    await redis.hset(lease.replace(':lease', ':x'), 'a', 'b');
    await redis.rpush(lease, 'x');
    expect(await store.lease('user-1', 10_000), 'a lease of another type').to.be.a('number');
    // put replaces a key of another type.
    await redis.del(credential);
    await redis.rpush(credential, 'x');
    expect(await store.put('user-1', { refreshToken: 'rt-new' })).to.equal(1);
    expect(await store.get('user-1')).to.deep.include({ refreshToken: 'rt-new' });
  });

  it('saves a rotation without its access token when both would be too large to read back, rather than lose the refresh token', async () => {
    const store = open();
    await store.put('user-1', { refreshToken: 'rt-1' });
    const fence = (await store.lease('user-1', 10_000)) as number;
    const huge = { value: 'a'.repeat(200_000), expiresAt: Date.now() + 60_000 };
    expect(await store.save('user-1', { version: 1, fence }, { refreshToken: 'rt-2', accessToken: huge })).to.equal(true);
    const saved = await store.get('user-1');
    expect(saved).to.deep.include({ refreshToken: 'rt-2', version: 2 });
    expect(saved?.accessToken).to.equal(undefined);
  });

  it('tells waiters of many keys through one subscription, and wakes only the key that changed', async () => {
    const store = open();
    await store.put('user-1', { refreshToken: 'rt-1' });
    const signal = new AbortController().signal;
    const woken: string[] = [];
    const waits = ['user-1', 'user-2', 'user-3'].map((key) => store.changed(key, 60_000, signal).then(() => woken.push(key)));
    await until(async () => ((await redis.pubsub('NUMSUB', `${prefix}changed`)) as [string, number])[1] === 1, 'subscribed');
    await store.put('user-2', { refreshToken: 'rt-2' });
    await waits[1];
    expect(woken).to.deep.equal(['user-2']);
    expect(((await redis.pubsub('NUMSUB', `${prefix}changed`)) as [string, number])[1]).to.equal(1);
    await store.close();
    await Promise.all(waits);
    expect(woken.sort()).to.deep.equal(['user-1', 'user-2', 'user-3']);
  });

  it('refuses bad options with a TypeError naming them', () => {
    expect(() => redisCredentialStore({ redis: 'http://cache' })).to.throw(TypeError, /redisCredentialStore: option `redis`/);
    expect(() => redisCredentialStore({ redis, keyPrefix: 1 as never })).to.throw(TypeError, /option `keyPrefix`/);
    expect(() => redisCredentialStore({ redis, seal: (text) => text })).to.throw(TypeError, /option `seal` must be given together with `unseal`/);
    expect(() => redisCredentialStore({ redis, seal: 'x' as never, unseal: 'y' as never })).to.throw(TypeError, /option `seal` must be a function/);
    expect(() => redisCredentialStore({ redis, commandTimeoutMs: 0 })).to.throw(TypeError, /option `commandTimeoutMs`/);
    expect(() => redisCredentialStore({ redis, scheduler: {} as never })).to.throw(TypeError, /option `scheduler`/);
  });
});
