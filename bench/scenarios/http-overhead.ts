import fetch from 'node-fetch';
import { TokenStream, authFetch } from 'rx-token-stream';
import { clockScheduler } from '../contenders/contender.js';
import { target, type Row } from '../report.js';
import { startPartner } from '../support/partner.js';
import { collect, pairedRatio, percentiles, rotate, runConcurrently } from '../support/stats.js';
import type { Scenario } from './scenario.js';

interface Variant {
  name: string;
  get: (url: string) => Promise<{ status: number; arrayBuffer(): Promise<ArrayBuffer> }>;
}

/**
 * What authFetch itself costs per call, with a fetch that answers at once: the token, the
 * origin check and the headers it builds, without any I/O. In µs, for the write-up only.
 */
async function wrapperCost(tokens: TokenStream, origin: string, count: number): Promise<number> {
  const answer = { status: 200, headers: { get: () => null }, body: null, url: `${origin}/api` };
  const noop = async (_input: string, _init?: object) => answer;
  const wrapped = authFetch(tokens, { origins: [origin], fetch: noop });
  const url = `${origin}/api`;
  for (let i = 0; i < count; i += 1) await wrapped(url);
  const samples: number[] = [];
  for (let r = 0; r < 5; r += 1) {
    const startedAt = performance.now();
    for (let i = 0; i < count; i += 1) await wrapped(url);
    samples.push(((performance.now() - startedAt) * 1000) / count);
  }
  return percentiles(samples).p50;
}

/** Scenario 4: authFetch against raw node-fetch with a fixed header, on a real loopback server. */
export const httpOverhead: Scenario = async ({ quick, progress }) => {
  const concurrency = 64;
  const [requests, repeats] = quick ? [500, 2] : [5_000, 12];
  const partner = await startPartner();
  try {
    const tokens = new TokenStream({ source: () => partner.authCall(), scheduler: clockScheduler });
    const token = await tokens.getToken();
    const viaAuthFetch = authFetch(tokens, { origins: [partner.origin] });
    const authorization = `Bearer ${token.value}`;
    const variants: Variant[] = [
      { name: 'node-fetch, fixed Authorization', get: (url) => fetch(url, { headers: { authorization } }) },
      { name: 'rx-token-stream authFetch', get: (url) => viaAuthFetch(url) },
    ];
    const url = `${partner.origin}/api`;
    let failed = 0;
    const cpu = new Map(variants.map((v) => [v.name, [] as number[]]));
    const round = async (variant: Variant, count: number): Promise<number> => {
      const startedAt = performance.now();
      const cpuBefore = process.cpuUsage();
      await runConcurrently(count, concurrency, async () => {
        const response = await variant.get(url);
        await response.arrayBuffer();
        if (response.status !== 200) failed += 1;
      });
      const used = process.cpuUsage(cpuBefore);
      cpu.get(variant.name)!.push((used.user + used.system) / count);
      return count / ((performance.now() - startedAt) / 1000);
    };
    for (const variant of variants) await round(variant, Math.min(requests, 1_000));
    for (const samples of cpu.values()) samples.length = 0;
    const samples = new Map(variants.map((v) => [v.name, [] as number[]]));
    // One full collection, none per round: V8 shrinks the young generation after a forced
    // one, and the round that follows pays for scavenges a running service never sees, more
    // so for whichever variant allocates more (scenario 8 measured twice the CPU per request).
    collect();
    for (let r = 0; r < repeats; r += 1) {
      for (const variant of rotate(variants, r)) {
        samples.get(variant.name)!.push(await round(variant, requests));
      }
      progress(r + 1, repeats);
    }
    const wrapperMicros = await wrapperCost(tokens, partner.origin, quick ? 5_000 : 50_000);
    const { authCalls } = await partner.stats();
    tokens.close();
    const raw = samples.get(variants[0]!.name)!;
    const rows: Row[] = variants.map((variant) => {
      const rps = samples.get(variant.name)!;
      return {
        contender: variant.name,
        figures: {
          'req/s p50': percentiles(rps).p50,
          'req/s slowest round': Math.min(...rps),
          'ratio to node-fetch (p50 of rounds)': pairedRatio(rps, raw),
          'client CPU µs/request p50': percentiles(cpu.get(variant.name)!).p50,
        },
      };
    });
    rows.push({
      contender: 'authFetch around a no-op fetch',
      figures: { 'wrapper µs/request (token, origin check, headers)': wrapperMicros },
    });
    return {
      id: '4 HTTP overhead',
      title: `4. HTTP overhead: ${requests.toLocaleString('en-US')} GETs per round at concurrency ${concurrency}, ${repeats} rounds each`,
      rows,
      targets: [
        target('authFetch req/s / node-fetch req/s', pairedRatio(samples.get(variants[1]!.name)!, raw), '≥ 0.95', 'measure', (v) => v >= 0.95),
        target('requests not answered 200', failed, '= 0', 'count', (v) => v === 0),
        target('auth calls', authCalls, '= 1', 'count', (v) => v === 1),
      ],
    };
  } finally {
    await partner.close();
  }
};
