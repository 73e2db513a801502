import axios from 'axios';
import got from 'got';
import ky from 'ky';
import fetch from 'node-fetch';
import { Agent, request, type Dispatcher } from 'undici';
import { TokenStream, authFetch } from 'rx-token-stream';
import { axiosAuth } from 'rx-token-stream/axios';
import { gotAuth } from 'rx-token-stream/got';
import { kyAuth } from 'rx-token-stream/ky';
import { authInterceptor } from 'rx-token-stream/undici';
import { clockScheduler } from '../contenders/contender.js';
import { target, type Row, type Target } from '../report.js';
import { startPartner } from '../support/partner.js';
import { collect, pairedRatio, percentiles, rotate, runConcurrently } from '../support/stats.js';
import type { Scenario } from './scenario.js';

/** One way to GET a URL; resolves once the body is read, with the status. */
type Get = (url: string) => Promise<number>;

/** A client measured with a fixed Authorization header and through its adapter (and another way, for ky). */
interface Pair {
  client: string;
  /** The adapter's name: authFetch for node-fetch. */
  adapter: string;
  fixed: Get;
  adapted: Get;
  /** Another way to the same client, reported beside the adapter and held to no target. */
  other?: { name: string; get: Get };
  close(): Promise<void>;
}

const CONCURRENCY = 64;
/** How long a round of the fixed variant lasts, about, in a full run. */
const ROUND_MS = 200;

function pairs(tokens: TokenStream, origin: string, authorization: string): Pair[] {
  const origins = [origin];
  const headers = { authorization };
  // One pool per client, shared by its two variants: 64 keep-alive connections, as many as
  // requests in flight.
  const undiciAgent = new Agent({ connections: CONCURRENCY });
  const undiciAuthorized = undiciAgent.compose(authInterceptor(tokens, { origins }));
  // What composing any interceptor costs: undici wraps the caller's handler and the
  // dispatcher for it, and converts headers for one of undici 7's current API.
  const undiciPassThrough = undiciAgent.compose((dispatch) => (opts, handler) => dispatch(opts, handler));
  const viaAuthFetch = authFetch(tokens, { origins });
  const axiosFixed = axios.create({ headers });
  const axiosAdapted = axios.create();
  axiosAuth(axiosAdapted, tokens, { origins });
  // What any interceptor that may wait costs axios: with one that is not marked synchronous,
  // axios runs its interceptors and its request through a promise chain.
  const axiosPassThrough = axios.create({ headers });
  axiosPassThrough.interceptors.request.use(async (config) => config);
  axiosPassThrough.interceptors.response.use((response) => response);
  const kyFixed = ky.create({ headers, retry: 0 });
  const kyAdapted = ky.create({ hooks: kyAuth(tokens, { origins }), retry: 0 });
  // authFetch as ky's transport, the other way to ky: reported beside kyAuth's hook.
  const kyOverAuthFetch = ky.create({ fetch: authFetch(tokens, { origins, fetch: globalThis.fetch }) as typeof globalThis.fetch, retry: 0 });
  const gotFixed = got.extend({ headers, retry: { limit: 0 } });
  const gotAdapted = got.extend({ hooks: gotAuth(tokens, { origins }), retry: { limit: 0 } });
  const gotPassThrough = got.extend({
    headers,
    retry: { limit: 0 },
    hooks: { beforeRequest: [async () => undefined], beforeRedirect: [() => undefined], afterResponse: [(response) => response], beforeError: [(error) => error] },
  });
  const undiciGet = async (url: string, dispatcher: Dispatcher, extra: object): Promise<number> => {
    const { statusCode, body } = await request(url, { dispatcher, ...extra });
    await body.arrayBuffer();
    return statusCode;
  };
  const fetchGet = async (response: Promise<{ status: number; arrayBuffer(): Promise<ArrayBuffer> }>): Promise<number> => {
    const done = await response;
    await done.arrayBuffer();
    return done.status;
  };
  const none = async (): Promise<void> => undefined;
  return [
    { client: 'node-fetch', adapter: 'authFetch', fixed: (url) => fetchGet(fetch(url, { headers })), adapted: (url) => fetchGet(viaAuthFetch(url)), close: none },
    {
      client: 'undici request',
      adapter: 'authInterceptor',
      fixed: (url) => undiciGet(url, undiciAgent, { headers }),
      adapted: (url) => undiciGet(url, undiciAuthorized, {}),
      other: { name: 'undici request, fixed Authorization, through a do-nothing interceptor', get: (url) => undiciGet(url, undiciPassThrough, { headers }) },
      close: () => undiciAgent.close(),
    },
    {
      client: 'axios',
      adapter: 'axiosAuth',
      fixed: async (url) => (await axiosFixed.get(url)).status,
      adapted: async (url) => (await axiosAdapted.get(url)).status,
      other: { name: 'axios, fixed Authorization, through do-nothing interceptors', get: async (url) => (await axiosPassThrough.get(url)).status },
      close: none,
    },
    {
      client: 'ky',
      adapter: 'kyAuth',
      fixed: (url) => fetchGet(kyFixed.get(url)),
      adapted: (url) => fetchGet(kyAdapted.get(url)),
      other: { name: 'ky with authFetch as its fetch', get: (url) => fetchGet(kyOverAuthFetch.get(url)) },
      close: none,
    },
    {
      client: 'got',
      adapter: 'gotAuth',
      fixed: async (url) => (await gotFixed(url)).statusCode,
      adapted: async (url) => (await gotAdapted(url)).statusCode,
      other: { name: 'got, fixed Authorization, through do-nothing hooks', get: async (url) => (await gotPassThrough(url)).statusCode },
      close: none,
    },
  ];
}

/**
 * Scenario 8: each client through its adapter against the same client with a fixed
 * Authorization header, on a real loopback server, in paired rounds: each round runs both
 * variants of a client moments apart, in turns, so that a slow stretch of a shared machine
 * hits both.
 */
export const adapters: Scenario = async ({ quick, progress }) => {
  // Many short rounds rather than a few long ones: on a shared machine the load changes by
  // the second, and the median of many paired ratios shrugs off the rounds it hit.
  const [requests, repeats] = quick ? [200, 2] : [500, 60];
  const partner = await startPartner();
  try {
    const tokens = new TokenStream({ source: () => partner.authCall(), scheduler: clockScheduler });
    const token = await tokens.getToken();
    const url = `${partner.origin}/api`;
    const clients = pairs(tokens, partner.origin, `Bearer ${token.value}`);
    let failed = 0;
    const round = async (get: Get, count: number): Promise<{ rps: number; cpu: number }> => {
      const startedAt = performance.now();
      const cpuBefore = process.cpuUsage();
      await runConcurrently(count, CONCURRENCY, async () => {
        if ((await get(url)) !== 200) failed += 1;
      });
      const used = process.cpuUsage(cpuBefore);
      return { rps: count / ((performance.now() - startedAt) / 1000), cpu: (used.user + used.system) / count };
    };
    const rows: Row[] = [];
    const targets: Target[] = [];
    const sized: string[] = [];
    for (const [index, pair] of clients.entries()) {
      const variants = [
        { name: 'fixed', get: pair.fixed },
        { name: 'adapted', get: pair.adapted },
        ...(pair.other === undefined ? [] : [pair.other]),
      ];
      // Warm-up: connections opened and code compiled before anything is timed. It also sizes
      // this client's rounds: each lasts about as long for every client (undici answers five
      // times as many requests a second as the others), so that no client is measured mostly
      // on the ramp up to 64 requests in flight and back down.
      for (const variant of variants) await round(variant.get, Math.min(requests, 500));
      const { rps: warm } = await round(pair.fixed, Math.min(requests, 500));
      const perRound = Math.max(requests, Math.round((warm * ROUND_MS) / 1000 / 100) * 100);
      sized.push(`${pair.client} ${perRound.toLocaleString('en-US')}`);
      const rps = new Map(variants.map((v) => [v.name, [] as number[]]));
      const cpu = new Map(variants.map((v) => [v.name, [] as number[]]));
      // One full collection per client, none per round: V8 shrinks the young generation after
      // a forced one, so a round that follows it pays for scavenges a running service never
      // sees (undici's CPU per request doubled), and more so for whichever variant allocates more.
      collect();
      for (let r = 0; r < repeats; r += 1) {
        for (const variant of rotate(variants, r)) {
          const measured = await round(variant.get, perRound);
          rps.get(variant.name)!.push(measured.rps);
          cpu.get(variant.name)!.push(measured.cpu);
        }
        progress(index * repeats + r + 1, clients.length * repeats);
      }
      const ratio = pairedRatio(rps.get('adapted')!, rps.get('fixed')!);
      const label = (name: string): string =>
        name === 'fixed' ? `${pair.client}, fixed Authorization` : name === 'adapted' ? `${pair.client} through ${pair.adapter}` : name;
      for (const variant of variants) {
        rows.push({
          contender: label(variant.name),
          figures: {
            'req/s p50': percentiles(rps.get(variant.name)!).p50,
            'req/s slowest round': Math.min(...rps.get(variant.name)!),
            'ratio to fixed (p50 of rounds)': pairedRatio(rps.get(variant.name)!, rps.get('fixed')!),
            'client CPU µs/request p50': percentiles(cpu.get(variant.name)!).p50,
          },
        });
      }
      targets.push(target(`${pair.client}: adapter req/s / fixed-header req/s`, ratio, '≥ 0.95', 'measure', (v) => v >= 0.95));
      await pair.close();
    }
    const { authCalls } = await partner.stats();
    tokens.close();
    return {
      id: '8 client adapters',
      title: `8. Client adapters: GETs per round (about ${ROUND_MS} ms each: ${sized.join(', ')}) at concurrency ${CONCURRENCY}, ${repeats} paired rounds per client`,
      rows,
      targets: [
        ...targets,
        target('requests not answered 200', failed, '= 0', 'count', (v) => v === 0),
        target('auth calls', authCalls, '= 1', 'count', (v) => v === 1),
      ],
    };
  } finally {
    await partner.close();
  }
};
