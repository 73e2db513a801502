import type { LoadResult } from './load.js';

/**
 * What the servers counted for one service, by name: for the default demo, the auth
 * server's calls and the partner API's 401s; other runs count other things (grant
 * requests, reused refresh tokens).
 */
export type Counts = Record<string, number>;

/** What the default demo counts: calls to the auth server, and 401s the partner API answered. */
export type AuthCounts = { authCalls: number; unauthorized: number };

/** How a round sends its requests: one at a time, or all at once. */
export type RoundMode = 'sequential' | 'parallel';

/** The figures of one service, for one round or in total. */
export type Figures<C extends Counts = AuthCounts> = { requests: number } & C & {
  /** Requests the load did not get a 200 for. */
  failed: number;
  /** Median round trip, ms. */
  p50Ms: number;
  /** 99th percentile round trip, ms. */
  p99Ms: number;
};

/** One round of one service. */
export type RoundFigures<C extends Counts = AuthCounts> = { round: number; mode: RoundMode } & Figures<C>;

/** One service over the whole run. */
export interface ServiceReport<C extends Counts = AuthCounts> {
  name: string;
  rounds: RoundFigures<C>[];
  total: Figures<C>;
  /**
   * Token rotations of its `TokenStream`s; absent for a service without one. Over several
   * processes: their sum, or for processes that share a token, the most any one went through.
   */
  rotations?: number;
  /** How many processes it ran in, with `--processes`. */
  processes?: number;
  /** Whether its processes shared one token (through Redis). */
  shared?: boolean;
  /**
   * What went wrong for its `TokenStream`s, first first, each once (`redis-fallback: connect
   * ECONNREFUSED ...`, `token refresh failed: ...`); absent when nothing did.
   */
  incidents?: string[];
}

/** What a report says beyond the figures. */
export type ServiceDetails = Pick<ServiceReport, 'rotations' | 'processes' | 'shared' | 'incidents'>;

/** Whether the run showed what it should, and why not. */
export interface Verdict {
  ok: boolean;
  reason: string;
}

/** The value below which `p` percent of `values` lie (nearest rank); 0 for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** Collects one service's rounds and sums them up. */
export class Tally<C extends Counts = AuthCounts> {
  readonly #rounds: RoundFigures<C>[] = [];
  readonly #counted: C[] = [];
  readonly #latencies: number[] = [];

  constructor(readonly name: string) {}

  /**
   * Records a round: the load's result and what the servers counted during it. The first
   * round is sequential unless `mode` says otherwise.
   */
  add(round: number, load: LoadResult, counted: C, mode: RoundMode = round === 1 ? 'sequential' : 'parallel'): void {
    this.#latencies.push(...load.latenciesMs);
    this.#counted.push(counted);
    this.#rounds.push({ round, mode, ...figures(load.requests, counted, load.failed, load.latenciesMs) });
  }

  /** The rounds so far, and their total. */
  report(details: ServiceDetails = {}): ServiceReport<C> {
    const counted: Counts = {};
    for (const round of this.#counted) {
      for (const [key, count] of Object.entries(round)) counted[key] = (counted[key] ?? 0) + count;
    }
    const sum = (key: 'requests' | 'failed'): number => this.#rounds.reduce((total, round) => total + round[key], 0);
    return {
      name: this.name,
      rounds: [...this.#rounds],
      total: figures(sum('requests'), counted as C, sum('failed'), this.#latencies),
      ...details,
    };
  }
}

// The counts between the requests and the failures, in every run: the JSON reads as the table does.
function figures<C extends Counts>(requests: number, counted: C, failed: number, latenciesMs: number[]): Figures<C> {
  return {
    requests,
    ...counted,
    failed,
    p50Ms: round2(percentile(latenciesMs, 50)),
    p99Ms: round2(percentile(latenciesMs, 99)),
  };
}

/**
 * The demo's promise: every service on a `TokenStream` made exactly one auth call per
 * token rotation, and none of its requests failed. For processes that share a token, one
 * per rotation for all of them: a second process calling the auth server is a failure.
 * A failure names its cause when the service saw one: its first incident.
 */
export function judge(services: ServiceReport[]): Verdict {
  const checked = services.filter((service) => service.rotations !== undefined);
  for (const { name, rotations = 0, total, incidents = [] } of checked) {
    const cause = incidents[0] === undefined ? '' : ` (${name}: ${incidents[0]})`;
    if (rotations === 0) return { ok: false, reason: `${name} received no token${cause}` };
    if (total.authCalls !== rotations) {
      return { ok: false, reason: `${name} made ${total.authCalls} auth calls for ${rotations} token rotations${cause}` };
    }
    if (total.failed > 0) return { ok: false, reason: `${total.failed} ${name} requests failed${cause}` };
  }
  const names = checked.map((service) => service.name).join(', ');
  return { ok: true, reason: `${names}: one auth call per token rotation, no failed request` };
}

const round2 = (ms: number): number => Math.round(ms * 100) / 100;
