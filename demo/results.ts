import type { LoadResult } from './load.js';

/** The figures of one service, for one round or in total. */
export interface Figures {
  requests: number;
  /** Calls to the auth server. */
  authCalls: number;
  /** 401s the partner API answered. */
  unauthorized: number;
  /** Requests the load did not get a 200 for. */
  failed: number;
  /** Median round trip, ms. */
  p50Ms: number;
  /** 99th percentile round trip, ms. */
  p99Ms: number;
}

/** One round of one service. */
export interface RoundFigures extends Figures {
  round: number;
  /** The first round sends one request at a time, the others all at once. */
  mode: 'sequential' | 'parallel';
}

/** One service over the whole run. */
export interface ServiceReport {
  name: string;
  rounds: RoundFigures[];
  total: Figures;
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
export class Tally {
  readonly #rounds: RoundFigures[] = [];
  readonly #latencies: number[] = [];

  constructor(readonly name: string) {}

  /** Records a round: the load's result and what the servers counted during it. */
  add(round: number, load: LoadResult, counted: { authCalls: number; unauthorized: number }): void {
    this.#latencies.push(...load.latenciesMs);
    this.#rounds.push({
      round,
      mode: round === 1 ? 'sequential' : 'parallel',
      requests: load.requests,
      authCalls: counted.authCalls,
      unauthorized: counted.unauthorized,
      failed: load.failed,
      p50Ms: round2(percentile(load.latenciesMs, 50)),
      p99Ms: round2(percentile(load.latenciesMs, 99)),
    });
  }

  /** The rounds so far, and their total. */
  report(details: ServiceDetails = {}): ServiceReport {
    const sum = (key: 'requests' | 'authCalls' | 'unauthorized' | 'failed'): number =>
      this.#rounds.reduce((total, round) => total + round[key], 0);
    return {
      name: this.name,
      rounds: [...this.#rounds],
      total: {
        requests: sum('requests'),
        authCalls: sum('authCalls'),
        unauthorized: sum('unauthorized'),
        failed: sum('failed'),
        p50Ms: round2(percentile(this.#latencies, 50)),
        p99Ms: round2(percentile(this.#latencies, 99)),
      },
      ...details,
    };
  }
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
