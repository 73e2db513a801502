import { runLoad, warmUp, type LoadResult } from './load.js';
import type { RoundMode } from './results.js';
import type { Terminal } from './terminal.js';
import { epochMs, type TimelineRecorder } from './timeline.js';

/** A service the load can reach: its name in the table, and one origin per process. */
export interface LoadTarget {
  name: string;
  origins: string[];
}

/** One round of load on one service. */
export interface RoundPlan {
  round: number;
  /** How many requests in all. */
  requests: number;
  /** One at a time, or all at once. */
  mode: RoundMode;
  /**
   * The path of request `index`.
   * @default '/data' for every request
   */
  path?: (index: number) => string;
}

/**
 * Sends one round of requests to `service`, shows its progress, and logs how it went. With
 * a timeline (`--svg`), records each request and the round's burst.
 */
export async function runRound(service: LoadTarget, plan: RoundPlan, out: Terminal, timeline?: TimelineRecorder): Promise<LoadResult> {
  const { round, requests, mode, path } = plan;
  const { name, origins } = service;
  // The load goes round-robin over the origins: each takes its share of the burst at once.
  if (mode === 'parallel') await warmUp(origins, Math.ceil(requests / origins.length));
  const progress = out.progress(`round ${round} ${name}`, requests);
  const startedAt = Date.now();
  const burstStartedAt = epochMs();
  const load = await runLoad({
    origins,
    requests,
    concurrency: mode === 'sequential' ? 1 : requests,
    onDone: (ok) => {
      progress.tick();
      timeline?.record(name, ok ? 'done' : 'failed');
    },
    ...(path === undefined ? {} : { path }),
    ...(timeline === undefined ? {} : { onSent: () => timeline.record(name, 'sent'), requestIds: `round-${round}` }),
  });
  progress.done();
  timeline?.burst(name, round, burstStartedAt);
  out.log(`Round ${round} (${mode}), ${name}: ${load.requests} requests in ${seconds(Date.now() - startedAt)}, ${load.failed} failed.`);
  return load;
}

/** A duration of the run as the logs show it: `1.78s`. */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)}s`;
