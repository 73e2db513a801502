// What the PostgreSQL specs share: a harness of hooks that gives each suite a pool on the
// spec-wide server and a table of its own, made by migrate() and dropped afterwards
// (POSTGRES_URL may name a database that outlives the run), and the stores it made, closed.
import { randomUUID } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { expect } from 'chai';
import pg from 'pg';
import { listenOnLoopback } from '../support/loopback.js';
import { requirePostgres } from '../support/postgres-server.js';
import {
  isPostgresStoreError,
  postgresCredentialStore,
  type PostgresCredentialStore,
  type PostgresCredentialStoreOptions,
  type PostgresStoreError,
} from 'rx-token-stream/postgres';

/** What {@link postgresHarness} hands each spec. */
export interface PostgresHarness {
  /** The server's URL. */
  readonly url: string;
  /** A pool for the spec's own statements, and the stores' default pool (max 20). */
  readonly pool: pg.Pool;
  /** This suite's table, made by migrate(). */
  readonly table: string;
  /** A store on `pool` and `table` unless told otherwise, closed after the spec. */
  store(options?: Partial<PostgresCredentialStoreOptions>): PostgresCredentialStore;
  /** A new pool on the server (`pg.Pool` options), ended after the spec. */
  newPool(options?: pg.PoolConfig): pg.Pool;
}

/** The PostgresStoreError a call rejected with; fails when it resolved or rejected with anything else. */
export async function storeFailure(call: Promise<unknown>): Promise<PostgresStoreError> {
  const outcome = await call.then(
    () => new Error('resolved'),
    (error: unknown) => error,
  );
  expect(isPostgresStoreError(outcome), String(outcome)).to.equal(true);
  return outcome as PostgresStoreError;
}

/** Polls a condition on the real server, bounded. */
export async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Whether the lease of `key` in `table` has run out on the database's clock. */
export async function leaseRanOut(pool: pg.Pool, table: string, key: string): Promise<boolean> {
  const { rows } = await pool.query(`SELECT lease_until IS NULL OR lease_until <= clock_timestamp() AS out FROM ${table} WHERE key = $1`, [key]);
  return rows[0]?.out !== false;
}

/** A loopback TCP proxy to a PostgreSQL server, whose connections a spec can cut. */
export interface CuttableProxy {
  /** The server's URL, through the proxy. */
  url: string;
  /** How many connections pass through it now. */
  readonly connections: number;
  /** Resets every connection through it now, as a network fault or a crashed server would. */
  cut(): void;
  close(): Promise<void>;
}

/** Starts a {@link CuttableProxy} to the server at `url`. */
export async function cuttableProxy(url: string): Promise<CuttableProxy> {
  const target = new URL(url);
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  const port = await listenOnLoopback(server);
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(port);
  const cut = (): void => {
    for (const [client, upstream] of [...pairs]) {
      client.resetAndDestroy();
      upstream.destroy();
    }
  };
  return {
    url: proxied.href,
    get connections() {
      return pairs.size;
    },
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}

/**
 * Registers, in the calling `describe`, the hooks of a suite against the spec-wide
 * PostgreSQL: the suite skips without one; the table is made before and dropped after.
 */
export function postgresHarness(): PostgresHarness {
  let url = '';
  let pool: pg.Pool | undefined;
  const table = `rxts_spec_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const stores: PostgresCredentialStore[] = [];
  const pools: pg.Pool[] = [];
  const newPool = (options: pg.PoolConfig = {}): pg.Pool => {
    const created = new pg.Pool({ connectionString: url, max: 20, ...options });
    // pg asks for it: an idle client whose connection drops is reported here.
    created.on('error', () => {});
    pools.push(created);
    return created;
  };

  before(async function () {
    url = await requirePostgres(this);
    pool = new pg.Pool({ connectionString: url, max: 20 });
    pool.on('error', () => {});
    const store = postgresCredentialStore({ pool, table });
    await store.migrate();
    await store.close();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await Promise.all(pools.splice(0).map((created) => (created.ending ? undefined : created.end())));
  });
  after(async () => {
    if (pool === undefined) return;
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });

  return {
    get url() {
      return url;
    },
    get pool() {
      return pool as pg.Pool;
    },
    table,
    store(options = {}) {
      const store = postgresCredentialStore({ pool: pool as pg.Pool, table, ...options });
      stores.push(store);
      return store;
    },
    newPool,
  };
}
