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

/** Scenario 3: the cost of taking a fresh token, against a memoized promise and a bare RxJS subscription. */
export const hotPath: Scenario = async ({ quick, progress }) => {
  const auth = (): Promise<{ value: string; expiresAt: number }> =>
    Promise.resolve({ value: 'fresh', expiresAt: clock.now() + 3_600_000 });
  const reference = memoized.create(auth);
  const tokens = new TokenStream({ source: auth, scheduler: clockScheduler });
  await reference.getToken();
  const held = await tokens.getToken();
  const bare$ = new Observable<Token>((subscriber) => subscriber.next(held));
  const promise: Variant = { name: memoized.name, op: () => reference.getToken() };
  const stream: Variant = { name: 'rx-token-stream getToken()', op: () => tokens.getToken() };
  const observable: Variant = { name: 'rx-token-stream token$.pipe(first())', op: () => lastValueFrom(tokens.token$.pipe(first())) };
  // RxJS's own floor for "one first() subscription per call": no token logic at all.
  const floor: Variant = { name: 'reference: new Observable(next).pipe(first())', op: () => lastValueFrom(bare$.pipe(first())) };
  const variants = [promise, stream, observable, floor];
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
  const ops = (variant: Variant): number[] => samples.get(variant.name)!;
  const rows: Row[] = variants.map((variant) => ({
    contender: variant.name,
    figures: {
      'ops/s p50': percentiles(ops(variant)).p50,
      'ops/s slowest round': Math.min(...ops(variant)),
      'ratio to memoized (p50 of rounds)': pairedRatio(ops(variant), ops(promise)),
      ...(variant === observable || variant === floor ? { 'ratio to bare RxJS first() (p50 of rounds)': pairedRatio(ops(variant), ops(floor)) } : {}),
    },
  }));
  // Each way of taking a token against its own floor, measured in the same rounds: a promise
  // against a held promise, and an observable against a bare RxJS subscription, which no
  // subscription per call can beat (it reaches about 0.13x of a held promise).
  const targets = [
    target(`${stream.name}: ops/s / memoized`, pairedRatio(ops(stream), ops(promise)), '≥ 0.5', 'measure', (v) => v >= 0.5),
    target(`${observable.name}: ops/s / bare RxJS first()`, pairedRatio(ops(observable), ops(floor)), '≥ 0.8', 'measure', (v) => v >= 0.8),
  ];
  return { id: '3 hot path', title: `3. Hot path: a fresh token, ${count.toLocaleString('en-US')} awaited calls per round`, rows, targets };
};
