// The subscriber connection's first SUBSCRIBE can fail (an ACL that does not grant the
// channel yet, a connection cut at that moment): the demand that met it still gets its token
// by polling, and the next waiter subscribes again rather than reuse the failure.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { TokenStream } from 'rx-token-stream';
import { redisShared, type SharedTokenSource } from 'rx-token-stream/redis';
import { eventually } from '../support/redis-topologies.js';
import { httpSource } from './token-server.js';
import { redisHarness } from './support.js';

describe('redisShared subscribes again after a failed subscription', () => {
  const harness = redisHarness();
  const user = `spec-${randomUUID()}`;
  let limited: Redis | undefined;
  let source: SharedTokenSource | undefined;
  afterEach(async () => {
    await source?.close();
    limited?.disconnect();
    await harness.redis.call('ACL', 'DELUSER', user);
  });

  /** The number of subscribers of `channel`, as Redis counts them. */
  const subscribers = async (channel: string): Promise<number> => Number(((await harness.redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1]);

  /** The subscriptions Redis refused this user. */
  const refusals = async (): Promise<number> =>
    ((await harness.redis.call('ACL', 'LOG')) as unknown[][]).filter((entry) => entry.includes(user) && entry.includes('channel')).length;

  /**
   * One demand that has to wait: another "process" holds the lock, and stores a token and
   * lets go once `tried` says the waiter has tried its subscription.
   */
  async function waitedDemand(tokens: TokenStream, keys: SharedTokenSource['keys'], value: string, tried: () => Promise<boolean>): Promise<string> {
    await harness.redis.set(keys.lockKey, 'another-process', 'PX', 10_000);
    const demand = tokens.getToken();
    await eventually(tried, 'the waiter trying its subscription');
    await harness.redis.set(keys.tokenKey, JSON.stringify({ value, expiresAt: Date.now() + 60_000, issuedAt: Date.now() }), 'PX', 60_000);
    await harness.redis.del(keys.lockKey);
    return (await demand).value;
  }

  it('gets its token by polling while SUBSCRIBE is refused, and subscribes on the next wait once it is allowed', async () => {
    const { host, port } = harness.redis.options;
    // Everything but the channels: SUBSCRIBE is refused (NOPERM) until the ACL grants them.
    await harness.redis.call('ACL', 'LOG', 'RESET');
    await harness.redis.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', 'resetchannels', '+@all');
    limited = new Redis({ host: host ?? '127.0.0.1', port: port ?? 6379, username: user, password: 'pw', enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    limited.on('error', () => {});
    source = redisShared(httpSource(harness.server.url), { redis: limited, key: `spec-${randomUUID()}`, pollMs: 20, commandTimeoutMs: 1_000 });
    const tokens = new TokenStream({ source, retry: { count: 0 } });
    try {
      expect(await waitedDemand(tokens, source.keys, 'stored-1', async () => (await refusals()) > 0)).to.equal('stored-1');
      expect(await subscribers(source.keys.channel), 'refused').to.equal(0);

      await harness.redis.call('ACL', 'SETUSER', user, 'allchannels');
      tokens.invalidate(await tokens.getToken());
      const channel = source.keys.channel;
      expect(await waitedDemand(tokens, source.keys, 'stored-2', async () => (await subscribers(channel)) === 1)).to.equal('stored-2');
      expect(await subscribers(channel), 'subscribed on the next wait').to.equal(1);
      expect(harness.server.calls, 'every token came from the other process').to.equal(0);
    } finally {
      tokens.close();
    }
  });
});
