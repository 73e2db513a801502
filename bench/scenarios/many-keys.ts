import { TokenStream, TokenStreams, type Token, type TokenSourceContext } from 'rx-token-stream';
import { target, type Row } from '../report.js';
import { collect, pairedRatio, percentiles, rotate, settleHeap } from '../support/stats.js';
import type { Scenario } from './scenario.js';

const MB = 1024 * 1024;
const DEMANDS_PER_KEY = 10;

/** A source that answers at once with a token for the key, counting calls. */
function keyedSource(): { source: (context: TokenSourceContext) => Promise<Token>; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    source: async ({ key }) => {
      calls += 1;
      return { value: `${key}:${calls}`, expiresAt: Date.now() + 3_600_000 };
    },
  };
}

/** ms from the first demand until every demand on every key has its token; and the source calls made. */
type Release = (keys: readonly string[]) => Promise<{ ms: number; calls: number }>;

/** One TokenStreams holding every key: the contender. */
const keyed: Release = async (keys) => {
  const { source, calls } = keyedSource();
  const streams = new TokenStreams({ source, maxKeys: keys.length });
  const started = performance.now();
  await Promise.all(keys.flatMap((key) => Array.from({ length: DEMANDS_PER_KEY }, () => streams.getToken(key))));
  const ms = performance.now() - started;
  streams.close();
  return { ms, calls: calls() };
};

/** One TokenStream per key in a Map, as a user would write it: the baseline. */
const independent: Release = async (keys) => {
  const { source, calls } = keyedSource();
  const started = performance.now();
  const map = new Map<string, TokenStream>();
  const streamFor = (key: string): TokenStream => {
    let stream = map.get(key);
    if (stream === undefined) {
      stream = new TokenStream({ source: (context) => source({ ...context, key }) });
      map.set(key, stream);
    }
    return stream;
  };
  await Promise.all(keys.flatMap((key) => Array.from({ length: DEMANDS_PER_KEY }, () => streamFor(key).getToken())));
  const ms = performance.now() - started;
  for (const stream of map.values()) stream.close();
  return { ms, calls: calls() };
};

/** Heap after GC, above the baseline, once `total` distinct keys went through a map of `maxKeys`. */
async function boundedHeap(total: number, maxKeys: number, progress: (fraction: number) => void) {
  const { source, calls } = keyedSource();
  const streams = new TokenStreams({ source, maxKeys });
  const before = await settleHeap();
  let largest = 0;
  for (let i = 0; i < total; i += 1) {
    await streams.getToken(`user-${i}`);
    largest = Math.max(largest, streams.size);
    if (i % 5_000 === 0) progress(i / total);
  }
  const after = await settleHeap();
  const result = { heapDeltaMB: (after - before) / MB, largest, calls: calls() };
  streams.close();
  return result;
}

/** Scenario 7: many keys, one TokenStreams, against a Map of independent TokenStreams. */
export const manyKeys: Scenario = async ({ quick, progress }) => {
  const [keyCount, rounds, heapKeys] = quick ? [2_000, 3, 20_000] : [10_000, 10, 100_000];
  const keys = Array.from({ length: keyCount }, (_, i) => `tenant-${i}`);
  const contenders: Array<[string, Release]> = [
    ['TokenStreams', keyed],
    ['Map of TokenStream', independent],
  ];
  const samples = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
  const callCounts = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, release] of rotate(contenders, round)) {
      collect();
      const { ms, calls } = await release(keys);
      samples.get(name)?.push(ms);
      callCounts.get(name)?.push(calls);
    }
    progress(round + 1, rounds + 1);
  }
  const heap = await boundedHeap(heapKeys, 1_000, (fraction) => progress(rounds + fraction, rounds + 1));
  const n = (value: number): string => value.toLocaleString('en-US');
  const rows: Row[] = contenders.map(([name]) => {
    const { p50, p99 } = percentiles(samples.get(name) ?? []);
    return {
      contender: name,
      case: `${n(keyCount)} keys x ${DEMANDS_PER_KEY} concurrent demands, ${rounds} rounds`,
      figures: { 'release p50 (ms)': p50, 'release p99 (ms)': p99, 'auth calls per round (max)': Math.max(...(callCounts.get(name) ?? [])) },
    };
  });
  rows.push({
    contender: 'TokenStreams',
    case: `${n(heapKeys)} distinct keys, maxKeys 1,000`,
    figures: { 'heap Δ after GC (MB)': heap.heapDeltaMB, 'keys held (max)': heap.largest, 'auth calls': heap.calls },
  });
  const ratio = pairedRatio(samples.get('TokenStreams') ?? [], samples.get('Map of TokenStream') ?? []);
  const keyedCalls = callCounts.get('TokenStreams') ?? [];
  return {
    id: '7 many-keys',
    title: '7. Many keys: TokenStreams against a Map of independent TokenStreams',
    rows,
    targets: [
      target('TokenStreams: auth calls per round (one per key)', Math.max(...keyedCalls), `= ${n(keyCount)}`, 'count', (v) => v === keyCount && keyedCalls.every((c) => c === keyCount)),
      target('TokenStreams release time vs a Map of TokenStream (paired ratio)', ratio, '<= 1.2', 'measure', (v) => v <= 1.2),
      target(`TokenStreams: keys held after ${n(heapKeys)} keys`, heap.largest, '<= 1,000', 'count', (v) => v <= 1_000),
      target(`TokenStreams: heap Δ after GC, ${n(heapKeys)} keys (MB)`, heap.heapDeltaMB, '< 5', 'measure', (v) => v < 5),
    ],
  };
};
