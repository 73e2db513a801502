// The credential stores the rotation guarantees run on, by kind: each guarantee suite runs
// once per kind, its specs unchanged but for where the store comes from. Each spec gets an
// empty store of its own: the memory store on the spec's clock, the Redis store under a key
// prefix of its own on the spec-wide Redis, the PostgreSQL store on a table of the suite's
// own (postgresHarness), emptied after each spec. A kind whose server is absent skips its
// suite, saying why once (REQUIRE_REDIS=1 / REQUIRE_POSTGRES=1 fail it instead).
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { SchedulerLike } from 'rxjs';
import { memoryCredentialStore, type CredentialStore } from 'rx-token-stream';
import { redisCredentialStore, type RedisCredentialStore } from 'rx-token-stream/redis';
import { leaseRanOut, postgresHarness } from '../postgres/support.js';
import { requireRedis } from '../support/redis-server.js';
import { until } from './support.js';

/** The stores every rotation guarantee holds on. */
export const STORE_KINDS = ['memory', 'Redis', 'PostgreSQL'] as const;

/** One of {@link STORE_KINDS}. */
export type StoreKind = (typeof STORE_KINDS)[number];

/** What {@link storeOfKind} hands each spec. */
export interface StoreOfKind {
  /**
   * The spec's store, empty, made on the first call (later calls return it) and closed after
   * the spec. `scheduler` is the memory store's clock; the Redis and PostgreSQL stores keep
   * their own timers: their leases run on the server's clock, whatever the spec's is.
   */
  open(options?: { scheduler?: SchedulerLike }): CredentialStore;
  /**
   * Ends the lease held on `key` now, as its time running out would: for the memory store,
   * the spec has moved the clock the store runs on; Redis and PostgreSQL leases run on the
   * server's clock, so their expiry is moved to now there (fails when no lease is held).
   */
  leaseRunsOut(key: string): Promise<void>;
}

/** Registers, in the calling `describe`, the hooks that give each spec a store of `kind`. */
export function storeOfKind(kind: StoreKind): StoreOfKind {
  if (kind === 'memory') return memoryStores();
  if (kind === 'Redis') return redisStores();
  return postgresStores();
}

function memoryStores(): StoreOfKind {
  let store: CredentialStore | undefined;
  afterEach(() => {
    store = undefined;
  });
  return {
    open: ({ scheduler } = {}) => (store ??= memoryCredentialStore(scheduler === undefined ? {} : { scheduler })),
    leaseRunsOut: async () => {},
  };
}

function redisStores(): StoreOfKind {
  let redis: Redis | undefined;
  let keyPrefix: string | undefined;
  let store: RedisCredentialStore | undefined;
  before(function () {
    redis = new Redis(requireRedis(this));
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    if (keyPrefix === undefined || redis === undefined) return;
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    keyPrefix = undefined;
  });
  after(() => redis?.disconnect());
  return {
    open() {
      keyPrefix ??= `spec-guarantees-${randomUUID()}:`;
      return (store ??= redisCredentialStore({ redis: redis as Redis, keyPrefix }));
    },
    async leaseRunsOut(key) {
      const client = redis as Redis;
      const { lease } = (store as RedisCredentialStore).keys(key);
      expect(await client.pexpire(lease, 1), `a lease held on ${key}`).to.equal(1);
      await until(async () => (await client.pttl(lease)) === -2, 'Redis let the lease expire');
    },
  };
}

function postgresStores(): StoreOfKind {
  const harness = postgresHarness();
  let store: CredentialStore | undefined;
  // The harness's afterEach, registered first, has closed the spec's store by now.
  afterEach(async () => {
    store = undefined;
    if (harness.url !== '') await harness.pool.query(`DELETE FROM ${harness.table}`);
  });
  return {
    open: () => (store ??= harness.store()),
    async leaseRunsOut(key) {
      const { pool, table } = harness;
      const { rowCount } = await pool.query(`UPDATE ${table} SET lease_until = clock_timestamp() WHERE key = $1 AND lease_until > clock_timestamp()`, [key]);
      expect(rowCount, `a lease held on ${key}`).to.equal(1);
      expect(await leaseRanOut(pool, table, key)).to.equal(true);
    },
  };
}
