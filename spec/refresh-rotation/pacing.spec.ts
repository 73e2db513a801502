import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { TokenStream, refreshTokenGrant } from 'rx-token-stream';
import { redisCredentialStore, type RedisCredentialStore } from 'rx-token-stream/redis';
import { commandsBetween, commandsServed } from '../redis/support.js';
import { requireRedis } from '../support/redis-server.js';
import { ROTATING_CLIENT_ID, ROTATING_CLIENT_SECRET, startRotatingServer, type RotatingServer } from './rotating-server.js';
import { until } from './support.js';

const POLL_MS = 100;

describe('refreshTokenGrant paces its reads of the store while another process holds the lease', () => {
  let redis: Redis;
  let publisher: Redis;
  let store: RedisCredentialStore;
  let keyPrefix: string;
  let server: RotatingServer;
  before(async function () {
    const url = requireRedis(this);
    redis = new Redis(url);
    publisher = new Redis(url);
    server = await startRotatingServer();
  });
  beforeEach(() => {
    keyPrefix = `spec-pacing-${randomUUID()}:`;
    store = redisCredentialStore({ redis, keyPrefix });
  });
  afterEach(async () => {
    await store.close();
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  });
  after(async () => {
    redis?.disconnect();
    publisher?.disconnect();
    await server?.close();
  });

  it('reads at most twice per pollMs under a flood of change notices that change nothing', async () => {
    const key = 'user-1';
    await store.put(key, { refreshToken: server.mint() });
    // Another process holds the lease, and someone floods the change channel meanwhile.
    const fence = (await store.lease(key, 60_000)) as number;
    const source = refreshTokenGrant({ tokenUrl: server.tokenUrl, clientId: ROTATING_CLIENT_ID, clientSecret: ROTATING_CLIENT_SECRET, store, pollMs: POLL_MS });
    const tokens = new TokenStream({ source: (context) => source({ ...context, key }), timeoutMs: 10_000 });
    const pending = tokens.getToken();
    await until(async () => ((await redis.pubsub('NUMSUB', `${keyPrefix}changed`)) as [string, number])[1] === 1, 'the waiter listens');

    const before = await commandsServed(redis);
    const startedAt = Date.now();
    let published = 0;
    // Several publishers, each sending the next notice as soon as Redis took the last one.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() - startedAt < 5 * POLL_MS) {
          await publisher.publish(`${keyPrefix}changed`, key);
          published += 1;
        }
      }),
    );
    const elapsed = Date.now() - startedAt;
    const { by } = commandsBetween(before, await commandsServed(redis));

    expect(published).to.be.above(500);
    // Each round is a read and a lease attempt (two scripts); twice per pollMs, plus the rounds under way.
    expect(by['eval'] ?? 0).to.be.at.most(4 * (Math.ceil(elapsed / POLL_MS) + 2));
    await store.release(key, fence);
    expect((await pending).value).to.match(/^at-/);
    tokens.close();
  });
});
