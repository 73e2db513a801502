// A mocha root hook that gives the Redis specs a real redis-server: REDIS_URL when set,
// otherwise one started from the binary on PATH on a free loopback port and stopped by its
// PID afterwards. Without either, the Redis specs skip (and REQUIRE_REDIS=1 fails the run).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { listenOnLoopback } from './loopback.js';

/** A redis-server this process started. */
export interface RedisServer {
  url: string;
  port: number;
  /** Stops it (SIGTERM) and resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

const INSTALL_HINT = 'apt-get install -y redis-server';
let url: string | undefined;
let started: RedisServer | undefined;
let missing: string | undefined;

/** The URL of the spec-wide Redis; undefined when the Redis specs are skipped. */
export function redisUrl(): string | undefined {
  return url;
}

/** Skips the calling suite, with the reason, when no Redis is available; else its URL. */
export function requireRedis(context: Mocha.Context): string {
  if (url === undefined) context.skip();
  return url as string;
}

/** The redis-server binary on PATH, if any. */
export function redisServerBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** A loopback port nothing listens on right now (`--port 0` would disable TCP in Redis). */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether a Redis on host:port answers PING, over a raw socket (no client library). */
export function ping(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/**
 * Starts redis-server on `port` (a free one by default) and waits for it to answer PING.
 * @param args more arguments (cluster mode, `--replicaof`), or a config file first, as
 * redis-sentinel takes one (then `binary` is redis-sentinel).
 */
export async function startRedisServer(port?: number, args: readonly string[] = [], binary = redisServerBinary()): Promise<RedisServer> {
  if (binary === undefined) throw new Error(`redis-server is not on PATH (${INSTALL_HINT})`);
  const chosen = port ?? (await freePort());
  const config = args[0]?.endsWith('.conf') ? [args[0]] : [];
  const child: ChildProcess = spawn(
    binary,
    [...config, '--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir(), ...args.slice(config.length)],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  // A real process starting up: poll it, bounded.
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (child.exitCode !== null) break;
    if (await ping(chosen)) return { url: `redis://127.0.0.1:${chosen}`, port: chosen, stop };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await stop();
  throw new Error(`redis-server did not answer PING on port ${chosen}`);
}

async function beforeAll(): Promise<void> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    const { hostname, port } = new URL(fromEnv);
    if (await ping(Number(port || 6379), hostname)) url = fromEnv;
    else missing = `REDIS_URL does not answer PING`;
  } else if (redisServerBinary() !== undefined) {
    // The free port may be taken between our probe and redis-server's bind: try again.
    for (let attempt = 1; started === undefined; attempt += 1) {
      started = await startRedisServer().catch((error: unknown) => {
        if (attempt >= 3) throw error;
        return undefined;
      });
    }
    url = started.url;
  } else {
    missing = 'no redis-server on PATH and no REDIS_URL';
  }
  if (missing === undefined) return;
  if (process.env.REQUIRE_REDIS === '1') throw new Error(`REQUIRE_REDIS=1 but ${missing} (${INSTALL_HINT})`);
  console.log(`  Redis specs skipped: ${missing} (install it: ${INSTALL_HINT})`);
}

async function afterAll(): Promise<void> {
  await started?.stop();
  started = undefined;
}

export const mochaHooks = { beforeAll, afterAll };
