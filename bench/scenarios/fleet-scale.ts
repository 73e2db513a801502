import { fork, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { target, type Row, type Target } from '../report.js';
import { startKeyedAuthServer, type KeyedAuthServer } from '../support/keyed-auth-server.js';
import { startScaleEngine, type ScaleEngine } from '../support/scale-engines.js';
import { percentiles } from '../support/stats.js';
import type { ScaleReply, ScaleRequest } from './fleet-scale-worker.js';
import type { Scenario } from './scenario.js';

/** Demands per key per process in each rotation: more than one, so that a process coalesces too. */
const PER_KEY = 2;
/** redisShared's and refreshTokenGrant's default `pollMs`: the pace of a waiter's timed reads. */
const POLL_MS = 250;

/**
 * The documented bound on round trips (Redis commands or PostgreSQL statements a process
 * sends) per key per rotation, fleet-wide, for a rotation that took `rotationMs`. A fixed
 * part per process (its read, the holder's lock, read and write, a waiter's subscribe-time
 * read and the read its announcement wakes: at most `fixed` each), plus what waiting costs:
 * each waiting process reads each key once per `pollMs` until the holder's answer, +2 for
 * the timer ticks at either end.
 */
export function roundTripBound(processes: number, rotationMs: number, fixed: number): number {
  return fixed * processes + (processes - 1) * (Math.ceil(rotationMs / POLL_MS) + 2);
}

/** The fixed round trips per process per key and rotation each engine is held to (see roundTripBound). */
const FIXED: Record<ScaleEngine['kind'], number> = { redis: 4, cluster: 4, postgres: 8 };

function ask<T>(worker: ChildProcess, request: ScaleRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`fleet-scale worker exited (${code})`));
    worker.once('exit', onExit);
    worker.once('message', (reply: T | { type: 'error'; message: string }) => {
      worker.off('exit', onExit);
      if ((reply as { type: string }).type === 'error') reject(new Error((reply as { message: string }).message));
      else resolve(reply as T);
    });
    worker.send(request);
  });
}

/** Commands the primaries ran (INFO commandstats, `info` itself left out), and of those the scripts. */
async function commandStats(nodes: readonly Redis[]): Promise<{ commands: number; scripts: number }> {
  let commands = 0;
  let scripts = 0;
  for (const node of nodes) {
    const role = (await node.role()) as unknown[];
    if (role[0] !== 'master') continue;
    for (const [, name, calls] of (await node.info('commandstats')).matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) {
      if (name === 'info' || name === 'role') continue;
      commands += Number(calls);
      if (/^(eval|evalsha|fcall)(_ro)?$/.test(name as string)) scripts += Number(calls);
    }
  }
  return { commands, scripts };
}

/**
 * Resolves when `worker` has exited. A worker left in the middle of a demand (after another
 * failed) still holds connections and timers: after a grace period it is killed.
 */
function exited(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => worker.kill('SIGKILL'), 5_000);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

interface EngineRun {
  rows: Row[];
  targets: Target[];
}

async function runEngine(engine: ScaleEngine, auth: KeyedAuthServer, processes: number, keyCount: number, rotations: number, tick: () => void): Promise<EngineRun> {
  const keys = Array.from({ length: keyCount }, (_, i) => `tenant-${i}`);
  await engine.seed(keys, auth);
  const nodes = engine.redisNodes.map((node) => new Redis({ ...node, lazyConnect: true, maxRetriesPerRequest: 1 }));
  const workers = Array.from({ length: processes }, () =>
    fork(new URL('./fleet-scale-worker.ts', import.meta.url), [], {
      execArgv: ['--import', 'tsx', '--conditions=rx-token-stream-source'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  try {
    for (const node of nodes) node.on('error', () => {});
    await Promise.all(nodes.map((node) => node.connect()));
    const setup: ScaleRequest = { type: 'setup', engine: engine.worker, tokenUrl: auth.url, keyPrefix: `bench-${process.pid}:`, keys };
    await Promise.all(workers.map((worker) => ask(worker, setup)));
    // The cold start fills every key's cache (or, on PostgreSQL, spends the seeded refresh token).
    await Promise.all(workers.map((worker) => ask<ScaleReply>(worker, { type: 'demand', perKey: PER_KEY, invalidate: false })));
    const calls: number[] = [];
    const maxPerKey: number[] = [];
    const rotationMs: number[] = [];
    const tripsPerKey: number[] = [];
    const bounds: number[] = [];
    const serverPerKey: number[] = [];
    const scriptsPerKey: number[] = [];
    const extraMs: number[] = [];
    let reuses = 0;
    let mixed = 0;
    let fallbacks = 0;
    const causes = new Map<string, number>();
    for (let rotation = 0; rotation < rotations; rotation += 1) {
      auth.reset();
      const before = await commandStats(nodes);
      const started = performance.now();
      const replies = await Promise.all(workers.map((worker) => ask<ScaleReply>(worker, { type: 'demand', perKey: PER_KEY, invalidate: true })));
      const ms = performance.now() - started;
      const after = await commandStats(nodes);
      const stats = auth.stats();
      calls.push(stats.calls);
      maxPerKey.push(stats.maxPerKey);
      reuses += stats.reuses;
      rotationMs.push(ms);
      const trips = replies.reduce((sum, reply) => sum + reply.commands + reply.statements, 0);
      tripsPerKey.push(trips / keyCount);
      bounds.push(roundTripBound(processes, ms, FIXED[engine.kind]));
      serverPerKey.push((after.commands - before.commands) / keyCount);
      scriptsPerKey.push((after.scripts - before.scripts) / keyCount);
      for (const reply of replies) {
        mixed += reply.mixed;
        for (const [kind, count] of Object.entries(reply.events)) {
          if (!kind.includes('fallback')) continue;
          fallbacks += count;
          causes.set(kind, (causes.get(kind) ?? 0) + count);
        }
      }
      // A waiter's extra latency: from the auth reply in the process that called, to the
      // release of the key's demands in each process that did not.
      keys.forEach((_, index) => {
        const callers = replies.filter((reply) => (reply.repliedAt[index] ?? -1) >= 0);
        if (callers.length !== 1) return;
        const repliedAt = callers[0]!.repliedAt[index]!;
        for (const reply of replies) if (reply !== callers[0]) extraMs.push(reply.releasedAt[index]! - repliedAt);
      });
      tick();
    }
    await Promise.all(workers.map((worker) => ask(worker, { type: 'teardown' })));
    const extra = percentiles(extraMs);
    const rotation = percentiles(rotationMs);
    const redis = engine.kind !== 'postgres';
    const worst = tripsPerKey.reduce((max, trips, i) => (trips / bounds[i]! > max.trips / max.bound ? { trips, bound: bounds[i]! } : max), { trips: 0, bound: 1 });
    const name = engine.label;
    const rows: Row[] = [
      {
        contender: name,
        figures: {
          'auth calls per rotation (min–max)': `${Math.min(...calls)}–${Math.max(...calls)}`,
          'rotation p50 ms': rotation.p50,
          'waiter: auth reply → token p50 ms': extra.p50,
          'p99 ms': extra.p99,
          'round trips per key per rotation (max)': Math.max(...tripsPerKey),
          'server commands per key (max)': redis ? Math.max(...serverPerKey) : '–',
          'scripts per key (max)': redis ? Math.max(...scriptsPerKey) : '–',
          fallbacks: fallbacks === 0 ? 0 : `${fallbacks} (${[...causes].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([kind, n]) => `${n}× ${kind.replace('source:redis-fallback: ', '')}`).join('; ')})`,
        },
      },
    ];
    const total = calls.reduce((sum, n) => sum + n, 0);
    const expected = keyCount * rotations;
    const targets = [
      target(`${name}: auth calls (${keyCount.toLocaleString('en-US')} keys × ${rotations} rotations)`, total, `= ${expected.toLocaleString('en-US')}`, 'count', (v) => v === expected && maxPerKey.every((n) => n === 1)),
      target(`${name}: ${redis ? 'Redis commands' : 'PostgreSQL statements'} per key per rotation (worst against its bound)`, worst.trips, `<= ${worst.bound.toFixed(0)}`, 'count', (v) => v <= worst.bound),
      target(`${name}: waiter's extra latency after the auth reply, p99 ms`, extra.p99, 'info', 'info', () => true),
      ...(mixed === 0 ? [] : [target(`${name}: keys served two tokens in one process and rotation`, mixed, '= 0', 'count', (v) => v === 0)]),
      ...(reuses === 0 ? [] : [target(`${name}: refresh tokens presented twice`, reuses, '= 0', 'count', (v) => v === 0)]),
    ];
    return { rows, targets };
  } finally {
    for (const worker of workers) if (worker.connected) worker.disconnect();
    await Promise.all(workers.map(exited));
    for (const node of nodes) node.disconnect();
  }
}

/** Scenario 9: a fleet of processes × keys over rotations, on one Redis, a Redis Cluster and PostgreSQL. */
export const fleetScale: Scenario = async ({ quick, progress }) => {
  const [processes, keyCount, rotations] = quick ? [2, 100, 2] : [8, 1_000, 5];
  // FLEET_SCALE_ENGINES=cluster,postgres runs some of the engines only.
  const chosen = (process.env.FLEET_SCALE_ENGINES ?? '').split(',').filter((kind): kind is ScaleEngine['kind'] => ['redis', 'cluster', 'postgres'].includes(kind));
  const kinds: Array<ScaleEngine['kind']> = chosen.length > 0 ? chosen : quick ? ['redis'] : ['redis', 'cluster', 'postgres'];
  const n = (value: number): string => value.toLocaleString('en-US');
  const title = `9. Fleet at scale: ${processes} processes × ${n(keyCount)} keys × ${rotations} rotations (${PER_KEY} demands per key per process)`;
  const auth = await startKeyedAuthServer(5);
  const rows: Row[] = [];
  const targets: Target[] = [];
  const skipped: string[] = [];
  let step = 0;
  try {
    for (const kind of kinds) {
      const engine = await startScaleEngine(kind);
      if (typeof engine === 'string') {
        skipped.push(`${kind}: ${engine}`);
        rows.push({ contender: kind, figures: { 'auth calls per rotation (min–max)': `skipped: ${engine}` } });
        step += rotations;
        continue;
      }
      try {
        const run = await runEngine(engine, auth, processes, keyCount, rotations, () => progress(++step, rotations * kinds.length));
        rows.push(...run.rows);
        targets.push(...run.targets);
      } catch (error) {
        // One engine failing must not hide the figures of the others: it fails its own target.
        const message = (error as Error).message;
        rows.push({ contender: engine.label, figures: { 'auth calls per rotation (min–max)': `failed: ${message}` } });
        targets.push(target(`${engine.label}: ran to the end (failed: ${message.slice(0, 200)})`, 0, '= 1', 'count', (v) => v === 1));
      } finally {
        await engine.stop();
      }
    }
  } finally {
    await auth.close();
  }
  if (targets.length === 0) return { id: '9 fleet-scale', title, rows: [], targets: [], skipped: skipped.join('; ') };
  return { id: '9 fleet-scale', title, rows, targets };
};
