// A mocha root hook that gives the PostgreSQL specs a real server: POSTGRES_URL when set,
// otherwise a throwaway cluster made with initdb from Debian's binaries, started by pg_ctl
// on a free loopback port in a temporary data directory, and stopped and deleted afterwards.
// It starts on the first suite that asks (about 1 s), so that runs without a PostgreSQL spec
// pay nothing. Without either, the PostgreSQL specs skip (REQUIRE_POSTGRES=1 fails them).
import { execFile } from 'node:child_process';
import { accessSync, chownSync, constants, readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './redis-server.js';

const run = promisify(execFile);
const INSTALL_HINT = 'apt-get install -y postgresql';

/** A PostgreSQL cluster this process started. */
export interface PostgresServer {
  url: string;
  port: number;
  /** Stops it and deletes its data directory. Idempotent. */
  stop(): Promise<void>;
}

let started: PostgresServer | undefined;
let available: Promise<{ url?: string; missing?: string }> | undefined;

/**
 * The URL of the spec-wide PostgreSQL, started on the first call. Without one it skips the
 * calling suite (saying why, once), or throws under REQUIRE_POSTGRES=1.
 */
export async function requirePostgres(context: Mocha.Context): Promise<string> {
  const { url, missing } = await (available ??= find());
  if (url !== undefined) return url;
  if (process.env.REQUIRE_POSTGRES === '1') throw new Error(`REQUIRE_POSTGRES=1 but ${missing} (${INSTALL_HINT})`);
  context.skip();
  return '';
}

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The directory of initdb and pg_ctl: on PATH, else Debian's newest /usr/lib/postgresql/<n>/bin. */
export function postgresBinaries(): string | undefined {
  const onPath = (process.env.PATH ?? '').split(delimiter).find((dir) => dir !== '' && executable(join(dir, 'initdb')));
  if (onPath !== undefined) return onPath;
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const newest = versions.sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin`);
  return newest.find((dir) => executable(join(dir, 'initdb')) && executable(join(dir, 'pg_ctl')));
}

// PostgreSQL refuses to run as root: as root, run it as the `postgres` user the package made.
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('running as root, and there is no `postgres` user to run PostgreSQL as');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Whether a PostgreSQL at `connectionString` answers a query within 2 s. */
export async function answers(connectionString: string): Promise<boolean> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2_000, query_timeout: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Makes a cluster with initdb in a new temporary directory and starts it on a free loopback port. */
export async function startPostgresServer(bin: string): Promise<PostgresServer> {
  const user = runAs();
  const dir = await mkdtemp(join(tmpdir(), 'rx-token-stream-pg-'));
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const as = { ...(user ?? {}), env: { ...process.env, LC_ALL: 'C' } };
  const port = await freePort();
  const pgCtl = (...args: string[]): Promise<unknown> => run(join(bin, 'pg_ctl'), ['-D', data, ...args], as);
  // Only on exit without afterAll (a crash): stop it at once, synchronously, by its PID,
  // and delete what it leaves (best effort: it may still be writing as it goes).
  const killOnExit = (): void => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT');
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      process.off('exit', killOnExit);
      await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => killOnExit());
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    // trust on loopback only: a throwaway cluster that nothing but this run can reach.
    await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], as);
    process.once('exit', killOnExit);
    const settings = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off -c max_connections=200`;
    await pgCtl('-l', join(dir, 'log'), '-o', settings, '-w', '-t', '30', 'start');
    const server = { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop };
    if (!(await answers(server.url))) throw new Error(`PostgreSQL does not answer on port ${port}`);
    return server;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function find(): Promise<{ url?: string; missing?: string }> {
  const fromEnv = process.env.POSTGRES_URL;
  let missing: string;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (await answers(fromEnv)) return { url: fromEnv };
    missing = 'POSTGRES_URL does not answer';
  } else {
    const bin = postgresBinaries();
    if (bin !== undefined) {
      // The free port may be taken between our probe and the server's bind: try again.
      for (let attempt = 1; started === undefined; attempt += 1) {
        started = await startPostgresServer(bin).catch((error: unknown) => {
          if (attempt >= 3) throw error;
          return undefined;
        });
      }
      return { url: started.url };
    }
    missing = 'no PostgreSQL binaries (initdb, pg_ctl) and no POSTGRES_URL';
  }
  if (process.env.REQUIRE_POSTGRES !== '1') console.log(`  PostgreSQL specs skipped: ${missing} (install it: ${INSTALL_HINT})`);
  return { missing };
}

async function afterAll(): Promise<void> {
  const server = started;
  started = undefined;
  available = undefined;
  await server?.stop();
}

export const mochaHooks = { afterAll };
