// What the keep-alive specs share: delays so long that one left behind shows, a count of
// the timers alive, and scripts run to see whether they exit by themselves.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { settle } from './marbles.js';

/** A delay far longer than any spec: a timer of it left behind shows in a count, and keeps a script from exiting. */
export const LONG = 2_000_000_000;

/** Every delay of redisShared set to {@link LONG}. */
export const LONG_REDIS_DELAYS = { sourceTimeoutMs: LONG, lockTtlMs: LONG * 1.5, waitTimeoutMs: LONG, pollMs: LONG, commandTimeoutMs: LONG };

/** The Timeouts alive now. */
export function timers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

/** The Timeouts alive now, counted once mocha has armed the test's own timer. */
export async function timersNow(): Promise<number> {
  await settle();
  return timers();
}

const scripts = new Set<ChildProcess>();

/**
 * Forks spec/fixtures/`name` with the specs' settings, and leaves its IPC channel at once, as
 * a script run from a shell has none; resolves with its output once it exited by itself.
 */
export async function runsToExit(name: string, env: NodeJS.ProcessEnv = {}): Promise<{ output: string; code: number | null }> {
  const child = fork(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), [], {
    execArgv: ['--import', 'tsx', '--conditions=rx-token-stream-source'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...env },
  });
  scripts.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.disconnect();
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  scripts.delete(child);
  return { output: output.trim(), code };
}

/** Kills every script of {@link runsToExit} still running: one whose spec failed waiting for it to exit. */
export function killScripts(): void {
  for (const child of scripts) child.kill();
  scripts.clear();
}
