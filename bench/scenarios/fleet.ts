import { fork, type ChildProcess } from 'node:child_process';
import { target, type Row, type Target } from '../report.js';
import { startPartner } from '../support/partner.js';
import { startRedis } from '../support/redis.js';
import { percentiles } from '../support/stats.js';
import type { DemandReply, WorkerRequest } from './fleet-worker.js';
import type { Scenario } from './scenario.js';

const processes = 4;
const demandsPerProcess = 1_000;
/**
 * Short-lived tokens, so that each round starts with every process holding an expired one;
 * long enough that a process slowed down by a busy machine still receives it fresh.
 */
const tokenTtlMs = 600;

function ask<T>(worker: ChildProcess, request: WorkerRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', (reply: T | { type: 'error'; message: string }) =>
      (reply as { type: string }).type === 'error' ? reject(new Error((reply as { message: string }).message)) : resolve(reply as T),
    );
    worker.send(request);
  });
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Scenario 6: 4 processes × 1,000 demands on an expired token, with and without Redis. */
export const fleet: Scenario = async ({ quick, progress }) => {
  const title = `6. Fleet: ${processes} processes × ${demandsPerProcess.toLocaleString('en-US')} demands on an expired token`;
  const redis = await startRedis();
  if (typeof redis === 'string') return { id: '6 fleet', title, rows: [], targets: [], skipped: redis };
  const rounds = quick ? 1 : 15;
  const partner = await startPartner({ tokenTtlMs, authDelayMs: 10 });
  const workers = Array.from({ length: processes }, () =>
    fork(new URL('./fleet-worker.ts', import.meta.url), [], {
      execArgv: ['--import', 'tsx', '--conditions=rx-token-stream-source'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  try {
    const modes = [
      { name: 'per-process single flight (no Redis)', redis: undefined },
      { name: 'redisShared', redis: { url: redis.url, key: `rx-token-stream-bench:${process.pid}` } },
    ];
    const rows: Row[] = [];
    const targets: Target[] = [];
    let step = 0;
    for (const mode of modes) {
      const setup: WorkerRequest = { type: 'setup', partnerPort: partner.port, ...(mode.redis === undefined ? {} : { redis: mode.redis }) };
      await Promise.all(workers.map((worker) => ask(worker, setup)));
      await Promise.all(workers.map((worker) => ask(worker, { type: 'demand', count: 1 })));
      const authCalls: number[] = [];
      const extraWaitMs: number[] = [];
      const leaderReleaseMs: number[] = [];
      const leaderMs: number[] = [];
      let mixedTokens = 0;
      for (let round = 0; round < rounds; round += 1) {
        await wait(tokenTtlMs + 50);
        await partner.reset();
        const replies = await Promise.all(
          workers.map((worker) => ask<DemandReply>(worker, { type: 'demand', count: demandsPerProcess })),
        );
        authCalls.push((await partner.stats()).authCalls);
        mixedTokens += replies.filter((reply) => reply.distinctTokens !== 1).length;
        const leaders = replies.filter((reply) => reply.calledAuth);
        for (const leader of leaders) leaderMs.push(leader.releasedAt - leader.startedAt);
        if (leaders.length === 1 && leaders[0]!.authRepliedAt !== undefined) {
          // Measured from the auth reply in the process that called: what the others pay
          // for getting the token through Redis instead of from the auth server.
          const repliedAt = leaders[0]!.authRepliedAt;
          leaderReleaseMs.push(leaders[0]!.releasedAt - repliedAt);
          for (const reply of replies) if (!reply.calledAuth) extraWaitMs.push(reply.releasedAt - repliedAt);
        }
        progress(++step, rounds * modes.length);
      }
      await Promise.all(workers.map((worker) => ask(worker, { type: 'teardown' })));
      const leader = percentiles(leaderMs);
      const extra = percentiles(extraWaitMs);
      const local = percentiles(leaderReleaseMs);
      rows.push({
        contender: mode.name,
        figures: {
          'auth calls per round (min–max)': `${Math.min(...authCalls)}–${Math.max(...authCalls)}`,
          'caller of auth: demand → token p50 ms': leader.p50,
          'caller: auth reply → its last waiter p50 ms': mode.redis === undefined ? '–' : local.p50,
          'waiting processes: auth reply → last waiter p50 ms': mode.redis === undefined ? '–' : extra.p50,
          'p99 ms': mode.redis === undefined ? '–' : extra.p99,
        },
      });
      const expected = mode.redis === undefined ? processes : 1;
      targets.push(
        target(`${mode.name}: auth calls per round (max)`, Math.max(...authCalls), `= ${expected}`, 'count', (v) => v === expected),
        ...(mixedTokens === 0 ? [] : [target(`${mode.name}: processes served two tokens in one round`, mixedTokens, '= 0', 'count', (v) => v === 0)]),
      );
    }
    return { id: '6 fleet', title: `${title} (${rounds} round${rounds === 1 ? '' : 's'} each)`, rows, targets };
  } finally {
    for (const worker of workers) if (worker.connected) worker.disconnect();
    await partner.close();
    await redis.stop();
  }
};
