/**
 * The engines of the fleet-scale scenario, each started for the run and stopped after it:
 * one Redis (REDIS_URL, or a redis-server of its own), a 3-primary Redis Cluster, and a
 * throwaway PostgreSQL (POSTGRES_URL, or initdb + pg_ctl). Without the binaries, the reason.
 */
import pg from 'pg';
import { postgresCredentialStore } from 'rx-token-stream/postgres';
import { answers, postgresBinaries, startPostgresServer } from '../../spec/support/postgres-server.js';
import { redisServerBinary } from '../../spec/support/redis-server.js';
import { binary, startRedisCluster } from '../../spec/support/redis-topologies.js';
import type { Engine } from '../scenarios/fleet-scale-worker.js';
import type { KeyedAuthServer } from './keyed-auth-server.js';
import { startRedis } from './redis.js';

/** A running engine: what a worker connects to, and what the parent reads and seeds. */
export interface ScaleEngine {
  kind: Engine['kind'];
  /** The row's name. */
  label: string;
  worker: Engine;
  /** Every node whose INFO commandstats counts the fleet's commands (none for PostgreSQL). */
  redisNodes: Array<{ host: string; port: number }>;
  /** Gives each key what its first rotation needs (a refresh token, for PostgreSQL). */
  seed(keys: readonly string[], auth: KeyedAuthServer): Promise<void>;
  stop(): Promise<void>;
}

const TABLE = 'rx_bench_fleet_scale';

/** Starts `kind`, or says why it cannot. */
export async function startScaleEngine(kind: Engine['kind']): Promise<ScaleEngine | string> {
  const none = async (): Promise<void> => undefined;
  try {
    if (kind === 'redis') {
      const redis = await startRedis();
      if (typeof redis === 'string') return redis;
      const { hostname, port } = new URL(redis.url);
      return {
        kind,
        label: 'redisShared, one Redis',
        worker: { kind, url: redis.url },
        redisNodes: [{ host: hostname, port: Number(port || 6379) }],
        seed: none,
        stop: () => redis.stop(),
      };
    }
    if (kind === 'cluster') {
      if (redisServerBinary() === undefined || binary('redis-cli') === undefined) return 'redis-server or redis-cli is not on PATH (apt-get install -y redis-server)';
      const cluster = await startRedisCluster();
      return {
        kind,
        label: 'redisShared, 3-shard Redis Cluster',
        worker: { kind, nodes: cluster.nodes },
        redisNodes: cluster.nodes,
        seed: none,
        stop: () => cluster.stop(),
      };
    }
    return await startPostgres();
  } catch (error) {
    return (error as Error).message;
  }
}

async function startPostgres(): Promise<ScaleEngine | string> {
  const given = process.env.POSTGRES_URL;
  let url: string;
  let stop = async (): Promise<void> => undefined;
  if (given !== undefined && given !== '') {
    if (!(await answers(given))) return 'POSTGRES_URL does not answer';
    url = given;
  } else {
    const bin = postgresBinaries();
    if (bin === undefined) return 'no PostgreSQL binaries (initdb, pg_ctl) and no POSTGRES_URL (apt-get install -y postgresql)';
    const server = await startPostgresServer(bin);
    url = server.url;
    stop = () => server.stop();
  }
  const seed = async (keys: readonly string[], auth: KeyedAuthServer): Promise<void> => {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    const store = postgresCredentialStore({ pool, table: TABLE, listen: false });
    try {
      await pool.query(`DROP TABLE IF EXISTS ${TABLE}`);
      await store.migrate();
      for (const key of keys) await store.put(key, { refreshToken: auth.firstRefreshToken(key) });
    } finally {
      await store.close();
      await pool.end();
    }
  };
  return {
    kind: 'postgres',
    label: 'refreshTokenGrant on postgresCredentialStore',
    worker: { kind: 'postgres', url, table: TABLE },
    redisNodes: [],
    seed,
    stop: async () => {
      // A table left in a given POSTGRES_URL would be the bench's litter.
      if (given !== undefined && given !== '') {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query(`DROP TABLE IF EXISTS ${TABLE}`).finally(() => client.end());
      }
      await stop();
    },
  };
}
