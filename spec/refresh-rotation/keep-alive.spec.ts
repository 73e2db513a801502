import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { TokenStreams, memoryCredentialStore, refreshTokenGrant, type CredentialStore } from 'rx-token-stream';
import { redisCredentialStore } from 'rx-token-stream/redis';
import { timersNow } from '../support/keep-alive.js';
import { settle } from '../support/marbles.js';
import { requireRedis } from '../support/redis-server.js';
import { ROTATING_CLIENT_ID, ROTATING_CLIENT_SECRET, startRotatingServer, type RotatingServer } from './rotating-server.js';
import { rejectionOf, until } from './support.js';

describe('refreshTokenGrant keeps nothing alive', () => {
  let server: RotatingServer;
  before(async () => {
    server = await startRotatingServer();
  });
  after(() => server.close());

  const rotateAndWait = async (store: CredentialStore): Promise<AbortSignal> => {
    await store.put('user-1', { refreshToken: server.mint() });
    const source = refreshTokenGrant({ tokenUrl: server.tokenUrl, clientId: ROTATING_CLIENT_ID, clientSecret: ROTATING_CLIENT_SECRET, store, pollMs: 20 });
    const streams = new TokenStreams({ source, timeoutMs: 60_000 });
    const token = await streams.getToken('user-1');
    // A waiter: its token was rejected, another holder has the lease, and its caller gives up.
    const fence = (await store.lease('user-1', 60_000)) as number;
    streams.invalidate('user-1', token);
    const controller = new AbortController();
    const waiting = rejectionOf(streams.getToken('user-1', { signal: controller.signal }));
    await settle();
    controller.abort();
    await waiting;
    streams.close();
    await store.release('user-1', fence);
    return controller.signal;
  };

  it('holds no timer or abort listener after a rotation and an abandoned wait (memory store)', async () => {
    const before = await timersNow();
    const signal = await rotateAndWait(memoryCredentialStore());
    expect(await timersNow()).to.equal(before);
    expect(getEventListeners(signal, 'abort')).to.have.length(0);
  });

  it('holds no timer after a rotation and an abandoned wait, and close() leaves no subscriber (Redis store)', async function () {
    const url = requireRedis(this);
    const redis = new Redis(url);
    const keyPrefix = `spec-alive-${randomUUID()}:`;
    try {
      const store = redisCredentialStore({ redis: url, keyPrefix });
      const before = await timersNow();
      await rotateAndWait(store);
      await store.close();
      // ioredis closes its sockets, and their timers, a moment after QUIT: poll, bounded.
      await until(async () => (await timersNow()) === before, 'the closed connections let go of their timers');
      expect(await redis.pubsub('NUMSUB', `${keyPrefix}changed`), 'no subscriber left').to.deep.equal([`${keyPrefix}changed`, 0]);
    } finally {
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
});
