// One redis-server in cluster mode, with no slot assigned: it answers CLUSTER KEYSLOT, which
// is Redis's own word on which slot a key hashes to.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, ping, redisServerBinary } from '../support/redis-server.js';

/** Starts the node; `stop()` ends it and removes its directory. Skips the suite without redis-server. */
export async function clusterNode(context: Mocha.Context): Promise<{ client: Redis; stop: () => Promise<void> }> {
  const binary = redisServerBinary();
  if (binary === undefined) context.skip();
  const dir = await mkdtemp(join(tmpdir(), 'rx-token-stream-cluster-'));
  const port = await freePort();
  const child = spawn(
    binary as string,
    ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  // A real process starting up: poll it, bounded.
  for (let attempt = 0; attempt < 100 && child.exitCode === null; attempt += 1) {
    if (await ping(port)) return { client: new Redis(port, '127.0.0.1'), stop };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await stop();
  throw new Error(`redis-server in cluster mode did not answer PING on port ${port}`);
}
