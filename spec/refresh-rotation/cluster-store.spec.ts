// The credential store contract against redisCredentialStore given an ioredis Cluster of a
// real 3-shard cluster: every script touches the two keys of one credential, one slot.
import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { redisCredentialStore, type RedisCredentialStore } from 'rx-token-stream/redis';
import { requireBinaries } from '../redis/topology.js';
import { startRedisCluster, type Topology } from '../support/redis-topologies.js';
import { credentialStoreContract } from './store-contract.js';
import { until } from './support.js';

describe('redisCredentialStore on a Redis Cluster (issue 14)', function () {
  this.timeout(60_000);
  let topology: Topology | undefined;
  let cluster: Cluster;
  let store: RedisCredentialStore;
  let prefix: string;

  before(async function () {
    requireBinaries(this, 'redis-server', 'redis-cli');
    topology = await startRedisCluster();
    cluster = new Cluster(topology.nodes);
  });
  beforeEach(() => {
    prefix = `spec-${randomUUID()}:`;
    store = redisCredentialStore({ redis: cluster, keyPrefix: prefix });
  });
  afterEach(() => store.close());
  after(async () => {
    cluster?.disconnect();
    await topology?.stop();
  });

  /** The subscribers of `channel` on every node: classic pub/sub counts per node. */
  async function subscribers(channel: string): Promise<number> {
    const counts = await Promise.all(
      (topology?.nodes ?? []).map(async ({ host, port }) => {
        const node = new Redis(port, host);
        try {
          return ((await node.pubsub('NUMSUB', channel)) as [string, number])[1];
        } finally {
          node.disconnect();
        }
      }),
    );
    return counts.reduce((sum, n) => sum + n, 0);
  }

  credentialStoreContract(() => ({
    store,
    expire: (key) => until(async () => (await cluster.pttl(store.keys(key).lease)) === -2, 'the lease expired'),
    // The subscriber connection subscribes on one node of its choice: count them all.
    listening: () => until(async () => (await subscribers(`${prefix}changed`)) === 1, 'subscribed'),
  }));
});
