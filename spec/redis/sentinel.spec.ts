// Issue 14, on a real Sentinel-managed primary (a primary, a replica, 3 sentinels on
// loopback, started afresh for each test): the credential store's WAIT keeps a save that a
// failover follows at once; and a fleet of 4 forked processes, each a TokenStreams over one
// redisShared with its own Sentinel client, rotates 1,000 keys while the primary hangs
// (SIGSTOP: its sockets stay open, as a hung host's would) until the sentinels promote the
// replica. Counted for real: the auth calls the token server received per key, and the
// redis-fallback reports of every process.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisCredentialStore } from 'rx-token-stream/redis';
import type { TopologyChildConnection, TopologyChildRequest } from '../fixtures/redis-topology-child.js';
import { eventually, SENTINEL_PRIMARY, startRedisSentinels, type Address, type SentinelTopology } from '../support/redis-topologies.js';
import { Forked } from './forked.js';
import { startTokenServer, type TokenServer } from './token-server.js';
import { requireBinaries } from './topology.js';

/** A flat list of names and values, as SENTINEL REPLICAS gives each replica. */
const fields = (list: string[]): Record<string, string> =>
  Object.fromEntries(Array.from({ length: list.length / 2 }, (_, i) => [list[2 * i], list[2 * i + 1]]));

const PROCESSES = 4;
const KEYS = Array.from({ length: 1_000 }, (_, i) => `tenant-${String(i).padStart(4, '0')}`);

describe('redisShared and redisCredentialStore on a Sentinel-managed primary (issue 14)', function () {
  this.timeout(120_000);
  let topology: SentinelTopology | undefined;
  let sentinel: Redis;
  const clients: Redis[] = [];

  before(function () {
    requireBinaries(this, 'redis-server', 'redis-sentinel');
  });
  // A failover leaves the old primary a primary until a sentinel next looks at it (up to
  // 10 s): a topology of its own for each test costs less, and no test inherits another's.
  beforeEach(async () => {
    topology = await startRedisSentinels();
    sentinel = new Redis(topology.sentinels[0] as Address);
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    sentinel?.disconnect();
    await topology?.stop();
    topology = undefined;
  });

  const sentinelClient = (): Redis => {
    const client = new Redis({ sentinels: topology?.sentinels ?? [], name: SENTINEL_PRIMARY });
    client.on('error', () => {});
    clients.push(client);
    return client;
  };
  const primaryPort = async (): Promise<number> => Number(((await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_PRIMARY)) as string[])[1]);
  /**
   * Resolves with the primary's port once every sentinel names it and sees its one replica
   * linked to it: a failover before that could find no replica, or promote one without the
   * data.
   */
  async function settled(): Promise<number> {
    await eventually(
      async () => {
        const views = await Promise.all(
          (topology?.sentinels ?? []).map(async (address) => {
            const client = new Redis({ ...address, lazyConnect: true });
            try {
              const [, port] = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_PRIMARY)) as string[];
              const replicas = ((await client.call('SENTINEL', 'REPLICAS', SENTINEL_PRIMARY)) as string[][]).map(fields);
              return { port, replicas };
            } finally {
              client.disconnect();
            }
          }),
        );
        return views.every(
          ({ port, replicas }) =>
            port === views[0]?.port &&
            replicas.length === 1 &&
            replicas[0]?.flags === 'slave' &&
            replicas[0]['master-link-status'] === 'ok' &&
            replicas[0]['master-port'] === port,
        );
      },
      'a primary and its replica in sync, as every sentinel sees them',
      300,
    );
    return primaryPort();
  }
  /** Fails the primary over, and resolves once the sentinels name another one. */
  async function failover(): Promise<void> {
    const before = await primaryPort();
    await sentinel.call('SENTINEL', 'FAILOVER', SENTINEL_PRIMARY);
    await eventually(async () => (await primaryPort()) !== before, 'the sentinels naming a new primary');
  }

  it('keeps a save that a failover follows at once, when the store waits for a replica', async () => {
    await settled();
    // The replica has synced: WAIT counts only a replica that is online.
    const writer = sentinelClient();
    await eventually(async () => /slave0:.*state=online/.test(await writer.info('replication')), 'a replica online');
    const unreplicated: unknown[] = [];
    // A generous WAIT: on a loaded machine a replica may take longer than the default 250 ms
    // to acknowledge, and this test is about the acknowledged save surviving the failover.
    const store = redisCredentialStore({
      redis: sentinelClient(),
      keyPrefix: `spec-${randomUUID()}:`,
      replicas: 1,
      commandTimeoutMs: 10_000,
      replicaTimeoutMs: 5_000,
      onUnreplicated: (report) => unreplicated.push(report),
    });
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

  describe('a fleet of 4 processes, 1,000 keys, every redisShared option at its default', () => {
    let children: Forked<TopologyChildRequest>[] = [];
    let server: TokenServer;

    before(async () => {
      children = await Forked.forkAll<TopologyChildRequest>('redis-topology-child.ts', PROCESSES);
    });
    beforeEach(async () => {
      server = await startTokenServer();
      const keyPrefix = `spec-${randomUUID()}:`;
      const topologyOf = { sentinels: topology?.sentinels ?? [], name: SENTINEL_PRIMARY };
      await Promise.all(children.map((child) => child.request({ type: 'setup', tokenUrl: server.url, keyPrefix, topology: topologyOf })));
    });
    afterEach(async () => {
      await Promise.all(children.map((child) => child.request({ type: 'teardown' })));
      await server?.close();
    });
    after(async () => {
      await Promise.all(children.map((child) => child.stop({ type: 'exit' })));
    });

    const demandAll = (perKey: number, invalidate = false): Promise<string[][]> =>
      Promise.all(children.map((child) => child.request<string[]>({ type: 'demand', keys: KEYS, perKey, invalidate })));
    /** The fleet's `redis-fallback` reports so far. */
    const fallbacks = async (): Promise<number> =>
      (await Promise.all(children.map((child) => child.request<Record<string, number>>({ type: 'events' })))).reduce(
        (sum, counts) => sum + (counts['source:redis-fallback'] ?? 0),
        0,
      );
    const calls = (): Map<string, number> => new Map(KEYS.map((key) => [key, server.callsByKey.get(key) ?? 0]));
    /** Asserts that each key had `min`..`max` auth calls since `since`, naming the first that did not. */
    function expectCalls(since: Map<string, number>, min: number, max: number, what: string): void {
      const outside = KEYS.flatMap((key) => {
        const made = (server.callsByKey.get(key) ?? 0) - (since.get(key) ?? 0);
        return made < min || made > max ? [`${key}: ${made}`] : [];
      });
      expect(outside.length, `${what}: ${outside.length} keys outside ${min}..${max} (${outside.slice(0, 5).join(', ')})`).to.equal(0);
    }
    function agreed(byProcess: string[][]): string[] {
      const [first = []] = byProcess;
      for (const values of byProcess) expect(values, 'every process got the same token for each key').to.deep.equal(first);
      return first;
    }
    /** Every process connected to the primary on `port`, as its Sentinel client found it. */
    const fleetOn = async (port: number): Promise<boolean> =>
      (await Promise.all(children.map((child) => child.request<TopologyChildConnection>({ type: 'connected' })))).every(
        (connection) => connection.status === 'ready' && connection.port === port,
      );

    it('keeps every demand succeeding while the primary hangs mid-rotation, at most 1 extra auth call per key per process, and shares again on the new primary', async () => {
      const nodes = topology as SentinelTopology;
      const hung = await settled();
      const zero = calls();
      const cold = agreed(await demandAll(2));
      expectCalls(zero, 1, 1, 'a cold start: one auth call per key, fleet-wide');
      expect(await fallbacks(), 'no fallback before the outage').to.equal(0);

      // The replica holds every token: the new primary starts from them.
      const direct = new Redis(hung, '127.0.0.1');
      try {
        expect(await direct.call('WAIT', 1, 10_000), 'the replica acknowledging the cold start').to.equal(1);
      } finally {
        direct.disconnect();
      }
      await eventually(async () => fleetOn(hung), 'every process connected to the primary');

      // The outage: the primary stops answering as every process rotates every key (it
      // invalidates the token it holds, then demands each key twice at once). No demand
      // may fail: each falls back to the source once a Redis command has waited 1 s.
      const beforeOutage = calls();
      const rotation = Promise.allSettled(children.map((child) => child.request<string[]>({ type: 'demand', keys: KEYS, perKey: 2, invalidate: true })));
      nodes.pause(hung);
      const outcomes = await rotation;
      const failed = outcomes.flatMap((outcome, p) => (outcome.status === 'rejected' ? [`process ${p}: ${String(outcome.reason)}`] : []));
      expect(failed, 'every demand succeeds through the outage').to.deep.equal([]);
      const rotated = outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : []));
      for (const values of rotated) {
        expect(values, 'a token for every key in every process').to.have.length(KEYS.length);
        values.forEach((value, i) => expect(value, KEYS[i]).to.be.a('string').and.not.equal(cold[i]));
      }
      const fellBack = await fallbacks();
      const extra = KEYS.map((key) => Math.max(0, (server.callsByKey.get(key) ?? 0) - (beforeOutage.get(key) ?? 0) - 1));
      console.log(
        `      primary hung mid-rotation: ${extra.reduce((sum, n) => sum + n, 0)} extra auth calls over ${KEYS.length} keys ` +
          `(${extra.filter((n) => n > 0).length} keys had any, at most ${Math.max(...extra)} each), ${fellBack} redis-fallback reports`,
      );
      expect(fellBack, 'redis-fallback reports: the outage must bite').to.be.above(0);
      // While no primary answers, each process that needs a token calls the source itself,
      // once per key: beyond the rotation's 1 call, at most 1 more per process.
      expectCalls(beforeOutage, 1, 1 + PROCESSES, 'the rotation, and at most 1 fallback call per process');

      // The sentinels promote the replica. The processes' Sentinel clients (ioredis's
      // defaults) stay on the hung primary's open sockets, falling back, until it answers
      // again and the sentinels make it a replica, closing its clients' connections.
      await eventually(async () => (await primaryPort()) !== hung, 'the sentinels promoting the replica', 300);
      const promoted = await primaryPort();
      expect(promoted, 'the replica promoted').to.equal(nodes.nodes.find(({ port }) => port !== hung)?.port);
      nodes.resume(hung);
      const old = new Redis(hung, '127.0.0.1', { lazyConnect: true });
      old.on('error', () => {});
      try {
        await eventually(async () => {
          const [role, , port] = (await old.call('ROLE')) as [string, string, number];
          return role === 'slave' && port === promoted;
        }, 'the old primary rejoining as a replica of the new one', 300);
      } finally {
        old.disconnect();
      }
      await eventually(async () => fleetOn(promoted), 'every process connected to the new primary', 300);

      // Sharing on the new primary: the next forced rotation is 1 call per key again. Redis
      // still holds the token the outage's rotation replaced (no process could store its
      // own there): no process takes it back, as each remembers what it replaced.
      const beforeNext = calls();
      const shared = agreed(await demandAll(2, true));
      expectCalls(beforeNext, 1, 1, 'one auth call per key on the new primary');
      shared.forEach((value, i) => expect(value, KEYS[i]).to.not.be.oneOf([cold[i], ...rotated.map((values) => values[i])]));
      expect(await fallbacks(), 'no fallback on the new primary').to.equal(fellBack);
    });
  });
});
