// Real Redis topologies for the specs of issue 14, started from Debian's binaries on
// loopback ports and stopped afterwards: a 3-primary cluster with a replica each, and a
// primary with a replica watched by 3 sentinels, whose primary or replica a spec can make
// hang (SIGSTOP) and resume.
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from './redis-server.js';

const run = promisify(execFile);

/** A host and port, as ioredis's Cluster and Sentinel options take them. */
export interface Address {
  host: string;
  port: number;
}

/** A running topology: where its nodes are, and how to stop them all. */
export interface Topology {
  nodes: Address[];
  stop(): Promise<void>;
}

/** The path of `name` on PATH, or undefined. */
export function binary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * A free loopback port of at most 55535: a cluster node's bus listens on port + 10000, so
 * both must be free, and an ephemeral port (up to 60999) may leave no room for the bus.
 */
export async function clusterPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function stopAll(servers: readonly RedisServer[]): Promise<void> {
  await Promise.all(servers.map((server) => server.stop()));
}

/** Polls a real server's state, bounded: it throws `what` when it never holds. */
export async function eventually(check: () => Promise<boolean>, what: string, attempts = 150): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not happen in time`);
}

/** A 3-primary Redis Cluster with one replica each (6 nodes), ready to serve every slot. */
export async function startRedisCluster(): Promise<Topology> {
  const cli = binary('redis-cli');
  if (cli === undefined) throw new Error('redis-cli is not on PATH (apt-get install -y redis-server)');
  const dir = mkdtempSync(join(tmpdir(), 'rx-cluster-'));
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < 6; i += 1) {
      const port = await clusterPort();
      servers.push(
        await startRedisServer(port, [
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout', '2000',
          // A replica's full sync writes an RDB file: one of its own here, as a shared
          // dump.rdb in the temporary directory would be loaded by every later server.
          '--dir', dir, '--dbfilename', `dump-${port}.rdb`,
        ]),
      );
    }
    const nodes = servers.map(({ port }) => ({ host: '127.0.0.1', port }));
    await run(cli, ['--cluster', 'create', ...nodes.map(({ host, port }) => `${host}:${port}`), '--cluster-replicas', '1', '--cluster-yes']);
    await eventually(async () => {
      const states = await Promise.all(nodes.map(({ port }) => run(cli, ['-p', String(port), 'cluster', 'info']).then(({ stdout }) => stdout)));
      return states.every((info) => info.includes('cluster_state:ok'));
    }, 'the cluster becoming ready');
    return { nodes, stop: () => stopAll(servers) };
  } catch (error) {
    await stopAll(servers);
    throw error;
  }
}

/** The name sentinels know the primary by. */
export const SENTINEL_PRIMARY = 'rx-primary';

/** A running Sentinel topology: {@link startRedisSentinels}. */
export interface SentinelTopology extends Topology {
  sentinels: Address[];
  /**
   * Stops the data node on `port` (the primary or the replica) answering, as a hung host
   * would: SIGSTOP, its sockets left open, so that clients wait rather than reconnect.
   */
  pause(port: number): void;
  /** Lets a node that {@link pause} stopped run again (SIGCONT). */
  resume(port: number): void;
}

/** The PID of the redis-server on `port`, from its own INFO. */
async function serverPid(port: number): Promise<number> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  try {
    const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no process_id in INFO of port ${port}`);
    return pid;
  } finally {
    client.disconnect();
  }
}

/** A primary and a replica, watched by 3 sentinels (quorum 2) that fail over within seconds. */
export async function startRedisSentinels(): Promise<SentinelTopology> {
  const sentinelBinary = binary('redis-sentinel');
  if (sentinelBinary === undefined) throw new Error('redis-sentinel is not on PATH (apt-get install -y redis-sentinel)');
  const dir = mkdtempSync(join(tmpdir(), 'rx-sentinel-'));
  const servers: RedisServer[] = [];
  try {
    const own = (name: string): string[] => ['--dir', dir, '--dbfilename', `${name}.rdb`];
    const primary = await startRedisServer(undefined, own('primary'));
    servers.push(primary);
    servers.push(await startRedisServer(undefined, ['--replicaof', '127.0.0.1', String(primary.port), ...own('replica')]));
    const sentinels: Address[] = [];
    for (let i = 0; i < 3; i += 1) {
      const port = await clusterPort();
      // Sentinel rewrites its config file as the topology changes: one writable file each.
      const config = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        config,
        [
          `sentinel monitor ${SENTINEL_PRIMARY} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_PRIMARY} 1000`,
          `sentinel failover-timeout ${SENTINEL_PRIMARY} 5000`,
          `sentinel parallel-syncs ${SENTINEL_PRIMARY} 1`,
          '',
        ].join('\n'),
      );
      servers.push(await startRedisServer(port, [config], sentinelBinary));
      sentinels.push({ host: '127.0.0.1', port });
    }
    await eventually(async () => {
      const client = new Redis({ host: '127.0.0.1', port: sentinels[0]?.port as number, lazyConnect: true });
      try {
        const replicas = (await client.call('SENTINEL', 'REPLICAS', SENTINEL_PRIMARY)) as unknown[];
        const known = (await client.call('SENTINEL', 'SENTINELS', SENTINEL_PRIMARY)) as unknown[];
        return replicas.length === 1 && known.length === 2;
      } finally {
        client.disconnect();
      }
    }, 'the sentinels seeing the replica and each other');
    const nodes = servers.slice(0, 2).map(({ port }) => ({ host: '127.0.0.1', port }));
    // Only the data nodes this function started can be paused, each by its own PID.
    const pids = new Map(await Promise.all(nodes.map(async ({ port }) => [port, await serverPid(port)] as const)));
    const paused = new Set<number>();
    const pidOf = (port: number): number => {
      const pid = pids.get(port);
      if (pid === undefined) throw new Error(`port ${port} is not a data node of this topology`);
      return pid;
    };
    return {
      nodes,
      sentinels,
      pause: (port) => {
        process.kill(pidOf(port), 'SIGSTOP');
        paused.add(port);
      },
      resume: (port) => {
        process.kill(pidOf(port), 'SIGCONT');
        paused.delete(port);
      },
      stop: async () => {
        // A stopped process would hold its SIGTERM until continued.
        for (const port of paused) {
          try {
            process.kill(pidOf(port), 'SIGCONT');
          } catch {
            // it has exited already
          }
        }
        paused.clear();
        await stopAll(servers);
      },
    };
  } catch (error) {
    await stopAll(servers);
    throw error;
  }
}
