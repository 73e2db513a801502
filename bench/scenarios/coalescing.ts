import type { Token } from 'rx-token-stream';
import { clock, type Contender } from '../contenders/contender.js';
import { memoized } from '../contenders/memoized.js';
import { naive } from '../contenders/naive.js';
import { rxGetToken, rxTokenFirst } from '../contenders/rx-token-stream.js';
import { seedPattern } from '../contenders/seed-pattern.js';
import { target, type Row, type Target } from '../report.js';
import { collect, nextTask, percentiles, rotate } from '../support/stats.js';
import type { Scenario } from './scenario.js';

const contenders: Contender[] = [naive, seedPattern, memoized, rxGetToken, rxTokenFirst];

/**
 * N concurrent demands on an expired token. The auth call is held open until every
 * demand is in, so that "auth reply to last waiter released" measures only the release.
 */
async function once(contender: Contender, demands: number): Promise<{ calls: number; releaseMs: number; served: number }> {
  let calls = 0;
  const replies: Array<() => void> = [];
  const client = contender.create(() => {
    calls += 1;
    // The first call primes the token that then expires.
    if (calls === 1) return Promise.resolve({ value: 'primed', expiresAt: clock.now() + 60_000 });
    return new Promise<Token>((resolve) => replies.push(() => resolve({ value: `fresh-${calls}`, expiresAt: clock.now() + 60_000 })));
  });
  await client.getToken();
  clock.skewMs += 120_000;
  collect();

  let served = 0;
  let lastReleasedAt = 0;
  let allReleased!: () => void;
  const released = new Promise<void>((resolve) => (allReleased = resolve));
  const onToken = (token: Token): void => {
    if (token.value.startsWith('fresh-')) served += 1;
    lastReleasedAt = performance.now();
    if (served === demands) allReleased();
  };
  for (let i = 0; i < demands; i += 1) void client.getToken().then(onToken);
  await nextTask();
  const repliedAt = performance.now();
  for (const reply of replies) reply();
  await released;
  client.close();
  return { calls: calls - 1, releaseMs: lastReleasedAt - repliedAt, served };
}

/** Scenario 1: auth calls per N concurrent demands, and how fast the waiters are released. */
export const coalescing: Scenario = async ({ quick, progress }) => {
  const plan: Array<[demands: number, repeats: number]> = quick
    ? [[1, 3], [10, 3], [100, 3], [1_000, 3], [10_000, 3]]
    : [[1, 60], [10, 60], [100, 60], [1_000, 40], [10_000, 30]];
  const totalSteps = plan.reduce((sum, [, repeats]) => sum + repeats, 0);
  let step = 0;
  const rows: Row[] = [];
  const targets: Target[] = [];
  const p50At10k = new Map<string, number>();
  for (const [demands, repeats] of plan) {
    const samples = new Map(contenders.map((c) => [c.name, { calls: [] as number[], release: [] as number[], served: 0 }]));
    // Warm every contender up at this N, so that the first sampled round is not JIT time.
    for (const contender of contenders) await once(contender, demands);
    for (let round = 0; round < repeats; round += 1) {
      for (const contender of rotate(contenders, round)) {
        const result = await once(contender, demands);
        const sample = samples.get(contender.name)!;
        sample.calls.push(result.calls);
        sample.release.push(result.releaseMs);
        sample.served += result.served;
      }
      progress(++step, totalSteps);
    }
    for (const contender of contenders) {
      const sample = samples.get(contender.name)!;
      const release = percentiles(sample.release);
      const maxCalls = Math.max(...sample.calls);
      rows.push({
        contender: contender.name,
        case: `N=${demands.toLocaleString('en-US')}`,
        figures: {
          'auth calls (max)': maxCalls,
          'served fresh': `${sample.served}/${demands * repeats}`,
          'release p50 ms': release.p50,
          'release p99 ms': release.p99,
        },
      });
      if (demands === 10_000) p50At10k.set(contender.name, release.p50);
      if (contender === rxGetToken || contender === rxTokenFirst) {
        targets.push(
          target(`${contender.name}: auth calls at N=${demands.toLocaleString('en-US')}`, maxCalls, '= 1', 'count', (v) => v === 1),
        );
        if (sample.served !== demands * repeats) {
          targets.push(target(`${contender.name}: demands served at N=${demands}`, sample.served, `= ${demands * repeats}`, 'count', (v) => v === demands * repeats));
        }
      }
    }
  }
  const baseline = p50At10k.get(memoized.name) ?? Number.NaN;
  // The target compares promise with promise: getToken() against the memoized promise.
  // token$ subscribers are shown against the same bar but not held to it: each is an RxJS
  // subscription of its own to tear down, where N getToken() callers share one.
  for (const [contender, gate] of [[rxGetToken, 'measure'], [rxTokenFirst, 'info']] as const) {
    targets.push(
      target(
        `${contender.name}: release p50 / memoized at N=10,000`,
        (p50At10k.get(contender.name) ?? Number.NaN) / baseline,
        '≤ 1.5',
        gate,
        (v) => v <= 1.5,
      ),
    );
  }
  return { id: '1 coalescing', title: '1. Coalescing: N concurrent demands on an expired token', rows, targets };
};
