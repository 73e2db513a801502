/** A redis-server for the fleet scenario: REDIS_URL when set, else one started on a free port. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** A Redis the bench can use, and how to let go of it. */
export interface BenchRedis {
  url: string;
  /** Stops the server if the bench started it. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** A running Redis, or the reason there is none (the scenario is then skipped, saying why). */
export async function startRedis(): Promise<BenchRedis | string> {
  const given = process.env.REDIS_URL;
  if (given !== undefined && given !== '') {
    return (await ping(given)) ? { url: given, stop: async () => undefined } : `REDIS_URL (${new URL(given).host}) does not answer PING`;
  }
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const spawned = await new Promise<boolean>((resolve) => {
    server.once('spawn', () => resolve(true));
    server.once('error', () => resolve(false));
  });
  if (!spawned) return 'redis-server is not on PATH (apt-get install -y redis-server, or set REDIS_URL)';
  const url = `redis://127.0.0.1:${port}`;
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (server.exitCode !== null || server.signalCode !== null) return resolve();
      server.once('exit', () => resolve());
      server.kill('SIGTERM');
    });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (await ping(url)) return { url, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  return `redis-server on port ${port} did not answer PING`;
}
