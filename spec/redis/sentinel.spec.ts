// Issue 14, on a real Sentinel-managed primary (a primary, a replica, 3 sentinels on
// loopback): a fleet of redisShared sources, each with its own Sentinel client, rotates its
// tokens while the sentinels fail the primary over; and the credential store's WAIT keeps a
// save that a failover follows at once.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { TokenStreams, type Token } from 'rx-token-stream';
import { redisCredentialStore, redisShared, type KeyedSharedTokenSource } from 'rx-token-stream/redis';
import { eventually, SENTINEL_PRIMARY, startRedisSentinels, type Address } from '../support/redis-topologies.js';
import { httpSource, startTokenServer, type TokenServer } from './token-server.js';
import { requireBinaries } from './topology.js';

const PROCESSES = 3;
const KEYS = Array.from({ length: 200 }, (_, i) => `tenant-${i}`);

describe('redisShared and redisCredentialStore on a Sentinel-managed primary (issue 14)', function () {
  this.timeout(120_000);
  let topology: Awaited<ReturnType<typeof startRedisSentinels>> | undefined;
  let sentinel: Redis;
  const clients: Redis[] = [];

  before(async function () {
    requireBinaries(this, 'redis-server', 'redis-sentinel');
    topology = await startRedisSentinels();
    sentinel = new Redis(topology.sentinels[0] as Address);
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });
  after(async () => {
    sentinel?.disconnect();
    await topology?.stop();
  });

  const sentinelClient = (): Redis => {
    const client = new Redis({ sentinels: topology?.sentinels ?? [], name: SENTINEL_PRIMARY });
    client.on('error', () => {});
    clients.push(client);
    return client;
  };
  const primaryPort = async (): Promise<number> => Number(((await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_PRIMARY)) as string[])[1]);
  /** Fails the primary over, and resolves once the sentinels name another one. */
  async function failover(): Promise<void> {
    const before = await primaryPort();
    await sentinel.call('SENTINEL', 'FAILOVER', SENTINEL_PRIMARY);
    await eventually(async () => (await primaryPort()) !== before, 'the sentinels naming a new primary');
  }

  it('keeps a save that a failover follows at once, when the store waits for a replica', async () => {
    // The replica has synced: WAIT counts only a replica that is online.
    const writer = sentinelClient();
    await eventually(async () => /slave0:.*state=online/.test(await writer.info('replication')), 'a replica online');
    const unreplicated: unknown[] = [];
    const store = redisCredentialStore({ redis: sentinelClient(), keyPrefix: `spec-${randomUUID()}:`, replicas: 1, onUnreplicated: (report) => unreplicated.push(report) });
    try {
      const key = 'user-1';
      await store.put(key, { refreshToken: 'rt-1' });
      const fence = (await store.lease(key, 10_000)) as number;
      expect(await store.save(key, { version: 1, fence }, { refreshToken: 'rt-2' })).to.equal(true);
      await failover();
      await eventually(async () => (await store.get(key))?.version === 2, 'the new primary serving the save');
      expect(await store.get(key)).to.deep.include({ refreshToken: 'rt-2', version: 2 });
      expect(unreplicated, 'every write acknowledged by the replica').to.deep.equal([]);
    } finally {
      await store.close();
    }
  });

  it('keeps every demand succeeding through a failover, at most 1 extra auth call per key, and shares again on the new primary', async () => {
    const server: TokenServer = await startTokenServer();
    const keyPrefix = `spec-${randomUUID()}:`;
    const fleet = Array.from({ length: PROCESSES }, () => {
      const shared: KeyedSharedTokenSource = redisShared(httpSource(server.url), { redis: sentinelClient(), key: (k) => `orders:${k}`, keyPrefix });
      const streams = new TokenStreams({ source: shared });
      const reports: string[] = [];
      streams.events$.subscribe((event) => {
        if (event.type === 'source') reports.push(event.report.kind);
      });
      return { shared, streams, reports, held: new Map<string, Token>() };
    });
    const demandAll = (invalidate: boolean): Promise<void[]> =>
      Promise.all(
        fleet.map(async ({ streams, held }) => {
          if (invalidate) for (const key of KEYS) streams.invalidate(key, held.get(key) as Token);
          await Promise.all(KEYS.map(async (key) => held.set(key, await streams.getToken(key))));
        }),
      );
    const callsOutside = (min: number, max: number): string[] =>
      KEYS.flatMap((key) => {
        const calls = server.callsByKey.get(key) ?? 0;
        return calls < min || calls > max ? [`${key}: ${calls}`] : [];
      });
    try {
      await demandAll(false);
      expect(callsOutside(1, 1), 'a cold start: 1 auth call per key').to.deep.equal([]);
      // The rotation and the failover at once: no demand may fail.
      await Promise.all([demandAll(true), failover()]);
      expect(callsOutside(2, 2 + PROCESSES), 'the rotation, and the fallbacks of the failover').to.deep.equal([]);
      const extra = KEYS.reduce((sum, key) => sum + (server.callsByKey.get(key) ?? 0) - 2, 0);
      console.log(`      failover mid-rotation: ${extra} extra auth calls over ${KEYS.length} keys; reports: ${[...new Set(fleet.flatMap((p) => p.reports))].join(', ') || 'none'}`);
      // Sharing on the new primary: the next rotation is 1 call per key again.
      await eventually(async () => {
        const client = fleet[0]?.shared;
        return client !== undefined && (await sentinelClient().ping()) === 'PONG';
      }, 'the new primary answering');
      const before = server.calls;
      await demandAll(true);
      expect(server.calls - before, 'one auth call per key on the new primary').to.equal(KEYS.length);
    } finally {
      for (const { streams, shared } of fleet) {
        streams.close();
        await shared.close();
      }
      await server.close();
    }
  });
});
