import type { LoadResult } from './load.js';
import { Tally, type Figures, type RoundFigures, type ServiceReport, type Verdict } from './results.js';
import { roundGroups, textTable } from './table.js';

/** The auth calls one tenant made in one round. */
export interface TenantCalls {
  tenant: string;
  authCalls: number;
  /**
   * The rotations its `TokenStreams` stream went through in that round: 1, unless the round
   * outlasted the token. Absent for a service without a `TokenStreams`, whose rounds each
   * meet every tenant's token once missing or expired.
   */
  rotations?: number;
}

/**
 * One round of one tenant service. Its worst tenant made the most auth calls per rotation
 * in it (a service without `TokenStreams` meets each token once a round: one rotation).
 */
export type TenantRound = RoundFigures & {
  /** Token rotations of its `TokenStreams`, all tenants together; absent for a service without one. */
  rotations?: number;
  worstTenant: TenantCalls;
};

/** One tenant service over the whole run. */
export interface TenantReport extends Omit<ServiceReport, 'rounds' | 'total' | 'processes' | 'shared'> {
  /** How many tenants it served. */
  tenants: number;
  rounds: TenantRound[];
  /** The worst tenant of the run: the most auth calls per rotation one tenant made in a round, and the round. */
  total: Figures & { worstTenant: TenantCalls & { round: number } };
}

/** What the servers counted for each tenant of a service during one round, in the order of the tenants. */
export interface TenantCounts {
  authCalls: number[];
  /** Token rotations by tenant; absent for a service without a `TokenStreams`. */
  rotations?: number[];
  /** 401s the partner API answered, all tenants together. */
  unauthorized: number;
}

/** Collects one tenant service's rounds, and what each tenant cost over the run. */
export class TenantTally {
  readonly #tally: Tally;
  readonly #rounds: Array<{ rotations?: number; worstTenant: TenantCalls }> = [];
  readonly #authCalls: number[];
  readonly #rotations: number[];

  constructor(
    readonly name: string,
    readonly tenants: readonly string[],
  ) {
    this.#tally = new Tally(name);
    this.#authCalls = tenants.map(() => 0);
    this.#rotations = tenants.map(() => 0);
  }

  /** Records a round. Every round is a burst: round 1 meets no token, the next ones expired tokens. */
  add(round: number, load: LoadResult, counted: TenantCounts): void {
    const { authCalls, rotations, unauthorized } = counted;
    const total = (counts: number[]): number => counts.reduce((sum, count) => sum + count, 0);
    this.#tally.add(round, load, { authCalls: total(authCalls), unauthorized }, 'parallel');
    const calls = this.tenants.map((tenant, index) => ({
      tenant,
      authCalls: authCalls[index] ?? 0,
      ...(rotations === undefined ? {} : { rotations: rotations[index] ?? 0 }),
    }));
    this.#rounds.push({
      ...(rotations === undefined ? {} : { rotations: total(rotations) }),
      worstTenant: calls.reduce((worst, tenant) => (worse(tenant, worst) ? tenant : worst)),
    });
    authCalls.forEach((count, index) => (this.#authCalls[index] = (this.#authCalls[index] ?? 0) + count));
    rotations?.forEach((count, index) => (this.#rotations[index] = (this.#rotations[index] ?? 0) + count));
  }

  /** The rounds so far, and their total. */
  report(incidents: string[] = []): TenantReport {
    const { name, rounds, total } = this.#tally.report();
    const counted = this.#rounds.some((round) => round.rotations !== undefined);
    const worst = this.#rounds.reduce((most, round, index) => (worse(round.worstTenant, this.#rounds[most]?.worstTenant) ? index : most), 0);
    return {
      name,
      tenants: this.tenants.length,
      rounds: rounds.map((round, index) => ({ ...round, ...this.#rounds[index] }) as TenantRound),
      total: { ...total, worstTenant: { ...(this.#rounds[worst]?.worstTenant ?? { tenant: '', authCalls: 0 }), round: worst + 1 } },
      ...(counted ? { rotations: this.#rounds.reduce((sum, round) => sum + (round.rotations ?? 0), 0) } : {}),
      ...(incidents.length === 0 ? {} : { incidents }),
    };
  }

  /**
   * The promise of a service on `TokenStreams`: each tenant made one auth call per token
   * rotation of its own, and no request failed. A failure names the first tenant that broke
   * it, and its cause when the service saw one: its first incident.
   */
  judge(incidents: string[] = []): Verdict {
    const { name } = this;
    const { total } = this.#tally.report();
    const cause = incidents[0] === undefined ? '' : ` (${name}: ${incidents[0]})`;
    for (const [index, tenant] of this.tenants.entries()) {
      const [calls, rotations] = [this.#authCalls[index] ?? 0, this.#rotations[index] ?? 0];
      if (rotations === 0) return { ok: false, reason: `${name} received no token for ${tenant}${cause}` };
      if (calls !== rotations) return { ok: false, reason: `${name} made ${calls} auth calls for ${rotations} token rotations of ${tenant}${cause}` };
    }
    if (total.failed > 0) return { ok: false, reason: `${total.failed} ${name} requests failed${cause}` };
    return { ok: true, reason: `${name}: one auth call per tenant per token rotation (${this.tenants.length} tenants), no failed request` };
  }
}

/**
 * Whether `a` cost more than `b`: more calls per rotation, then more calls. A tenant whose
 * token expired twice in a long round, for two calls, made one per rotation all the same.
 */
function worse(a: TenantCalls, b: TenantCalls | undefined): boolean {
  if (b === undefined) return true;
  const perRotation = ({ authCalls, rotations = 1 }: TenantCalls): number => authCalls / Math.max(1, rotations);
  return perRotation(a) > perRotation(b) || (perRotation(a) === perRotation(b) && a.authCalls > b.authCalls);
}

const columns = ['round', 'service', 'requests', 'auth calls', 'rotations', 'worst tenant', '401s seen', 'failed', 'p50 ms', 'p99 ms'] as const;

/** The side-by-side table of a tenant run: one row per service and round, then one per service in total. */
export function renderTenantTable(services: TenantReport[]): string {
  return textTable(
    columns,
    roundGroups(services, (label, service, figures) =>
      cells(label, service.name, figures, 'round' in figures ? figures.rotations : service.rotations),
    ),
  );
}

/** One sentence naming what the numbers show: the first service without `TokenStreams` against the one with. */
export function summarizeTenants(services: TenantReport[], parallel: number): string {
  const baseline = services.find((service) => service.rotations === undefined);
  const reactive = services.find((service) => service.rotations !== undefined);
  if (baseline === undefined || reactive === undefined) return '';
  const { total, rotations, tenants } = reactive;
  const calls =
    total.authCalls === rotations
      ? `calls it once per tenant per token rotation (${rotations} rotations, ${total.authCalls} calls)`
      : `made ${total.authCalls} calls for ${rotations} token rotations`;
  return (
    `What it shows: when ${parallel} parallel requests for ${tenants} tenants find their tokens missing or expired, ` +
    `${baseline.name} calls the auth server once per request that finds its tenant's token missing or rejected ` +
    `(up to ${baseline.total.worstTenant.authCalls} times for one tenant in a round, ${baseline.total.authCalls} in all); ` +
    `${reactive.name} ${calls}.`
  );
}

function cells(label: string, name: string, figures: Figures & { worstTenant: TenantCalls }, rotations: number | undefined): string[] {
  const { worstTenant } = figures;
  const often = worstTenant.rotations === undefined || worstTenant.rotations === 1 ? '' : `, ${worstTenant.rotations} rotations`;
  return [
    label,
    name,
    String(figures.requests),
    String(figures.authCalls),
    rotations === undefined ? '-' : String(rotations),
    `${worstTenant.authCalls} (${worstTenant.tenant}${often})`,
    String(figures.unauthorized),
    String(figures.failed),
    figures.p50Ms.toFixed(1),
    figures.p99Ms.toFixed(1),
  ];
}
