/** Small statistics and process helpers shared by the scenarios. */

/** The q-th quantile (0..1) of `samples`, nearest-rank; NaN when there are none. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** p50 and p99 of `samples`. */
export function percentiles(samples: readonly number[]): { p50: number; p99: number } {
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) };
}

/**
 * Collects garbage until the heap stops shrinking. The bench children run with
 * `--expose-gc`; a single gc() call can leave weakly reachable garbage for the next one.
 */
export async function settleHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the bench needs --expose-gc (run it through `npm run bench`)');
  let previous = Infinity;
  for (let round = 0; round < 10; round += 1) {
    // A macrotask between collections lets WeakRef targets and finalizers be released.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const used = process.memoryUsage().heapUsed;
    if (used >= previous - 16 * 1024) return used;
    previous = used;
  }
  return previous;
}

/**
 * The median of round-by-round ratios `a[i] / b[i]`, where `a[i]` and `b[i]` were measured
 * in the same round, moments apart: a slow stretch of a shared machine hits both and
 * cancels out, where a ratio of two medians would keep it.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return quantile(
    a.map((value, i) => value / (b[i] ?? Number.NaN)),
    0.5,
  );
}

/** Collects garbage once, so that timing rounds start from a similar heap. */
export function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Waits for the next macrotask: lets every pending microtask and I/O callback run. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Rotates `items` by `round`, so that no contender always runs first in a round. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** Runs `worker` on `concurrency` lanes until `total` calls have been made. */
export async function runConcurrently(total: number, concurrency: number, worker: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const index = next;
      next += 1;
      await worker(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
}
