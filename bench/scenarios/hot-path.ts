import { Observable, first, lastValueFrom } from 'rxjs';
import { TokenStream, type Token } from 'rx-token-stream';
import { clock, clockScheduler } from '../contenders/contender.js';
import { memoized } from '../contenders/memoized.js';
import { target, type Row } from '../report.js';
import { collect, pairedRatio, percentiles, rotate } from '../support/stats.js';
import type { Scenario } from './scenario.js';

interface Variant {
  name: string;
  /** One operation: obtain the token, awaited as a caller would. */
  op: () => Promise<unknown>;
}

/** Runs `op` `count` times back to back; returns operations per second. */
async function opsPerSecond(variant: Variant, count: number): Promise<number> {
  const { op } = variant;
  const startedAt = performance.now();
  for (let i = 0; i < count; i += 1) await op();
  return count / ((performance.now() - startedAt) / 1000);
}

/** Scenario 3: the cost of taking a fresh token, against the memoized promise. */
export const hotPath: Scenario = async ({ quick, progress }) => {
  const auth = (): Promise<{ value: string; expiresAt: number }> =>
    Promise.resolve({ value: 'fresh', expiresAt: clock.now() + 3_600_000 });
  const reference = memoized.create(auth);
  const tokens = new TokenStream({ source: auth, scheduler: clockScheduler });
  await reference.getToken();
  const held = await tokens.getToken();
  const bare$ = new Observable<Token>((subscriber) => subscriber.next(held));
  const variants: Variant[] = [
    { name: memoized.name, op: () => reference.getToken() },
    { name: 'rx-token-stream getToken()', op: () => tokens.getToken() },
    { name: 'rx-token-stream token$.pipe(first())', op: () => lastValueFrom(tokens.token$.pipe(first())) },
    // RxJS's own floor for "one first() subscription per call": no token logic at all.
    { name: 'reference: new Observable(next).pipe(first())', op: () => lastValueFrom(bare$.pipe(first())) },
  ];
  const [count, repeats] = quick ? [20_000, 5] : [200_000, 25];
  for (const variant of variants) await opsPerSecond(variant, count);
  const samples = new Map(variants.map((v) => [v.name, [] as number[]]));
  for (let round = 0; round < repeats; round += 1) {
    for (const variant of rotate(variants, round)) {
      collect();
      samples.get(variant.name)!.push(await opsPerSecond(variant, count));
    }
    progress(round + 1, repeats);
  }
  tokens.close();
  const baseline = samples.get(memoized.name)!;
  const rows: Row[] = variants.map((variant) => {
    const ops = samples.get(variant.name)!;
    return {
      contender: variant.name,
      figures: {
        'ops/s p50': percentiles(ops).p50,
        'ops/s slowest round': Math.min(...ops),
        'ratio to memoized (p50 of rounds)': pairedRatio(ops, baseline),
      },
    };
  });
  const targets = variants.slice(1, 3).map((variant) =>
    target(`${variant.name}: ops/s / memoized`, pairedRatio(samples.get(variant.name)!, baseline), '≥ 0.5', 'measure', (v) => v >= 0.5),
  );
  return { id: '3 hot path', title: `3. Hot path: a fresh token, ${count.toLocaleString('en-US')} awaited calls per round`, rows, targets };
};
