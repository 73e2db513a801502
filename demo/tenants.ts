// npm run demo -- --tenants 50 [--parallel 100] [--rounds 3] [--ttl 2s] [--auth-latency 50ms] [--json]
//
// One service, many tenants: each tenant has its own credentials at the token service,
// and each round's requests are spread over the tenants. The naive service keeps a Map of
// tokens by tenant; the reactive one a TokenStreams, whose `streams.for(tenant)` it hands
// to authFetch. The token service counts each tenant's auth calls.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration, type DemoOptions } from './cli.js';
import type { ClientLogin } from './http.js';
import type { Outcome } from './outcome.js';
import { startPartnerApi } from './partner-api.js';
import { runRound, seconds } from './round.js';
import { TenantTally, renderTenantTable, summarizeTenants } from './tenant-report.js';
import { startNaiveTenantService, startReactiveTenantService, tenantPath } from './tenant-services.js';
import type { Terminal } from './terminal.js';
import { requestToken, startTokenService } from './token-service.js';

type ServiceName = 'naive' | 'reactive';
const SERVICES: readonly ServiceName[] = ['naive', 'reactive'];

/** `tenant-01` to `tenant-50`: names of one width, so that they sort as they count. */
export function tenantNames(count: number): string[] {
  const width = String(count).length;
  return Array.from({ length: count }, (_, index) => `tenant-${String(index + 1).padStart(width, '0')}`);
}

/**
 * The client id of `service` for `tenant` at the token service: each service is a client
 * of its own for each tenant, so that the token service counts every tenant's calls apart.
 */
export const clientId = (service: ServiceName, tenant: string): string => `${service}.${tenant}`;

/** Runs the rounds against both tenant services and says what they cost, tenant by tenant. */
export async function runTenants(options: DemoOptions, tenantCount: number, out: Terminal): Promise<Outcome> {
  const { parallel, rounds, ttlMs, authLatencyMs } = options;
  const tenants = tenantNames(tenantCount);
  // Each tenant's own credentials: a secret per client, made for this run and never shown.
  const secrets = new Map(SERVICES.flatMap((service) => tenants.map((tenant) => [clientId(service, tenant), randomBytes(18).toString('base64url')] as const)));
  const login = (service: ServiceName, tenant: string): ClientLogin => ({ id: clientId(service, tenant), secret: secrets.get(clientId(service, tenant)) ?? '' });
  out.log(
    `Starting a token service that knows ${tenantCount} tenants (ttl ${formatDuration(ttlMs)}, auth latency ` +
      `${formatDuration(authLatencyMs)}), a partner API and the services in front of it on 127.0.0.1, for ${rounds} ` +
      `rounds of ${parallel} parallel requests spread over the tenants.`,
  );

  const started: Array<() => Promise<void>> = [];
  const tallies = SERVICES.map((name) => new TenantTally(name, tenants));
  let incidents: string[] = [];
  try {
    const auth = await startTokenService({ ttlMs, latencyMs: authLatencyMs, clients: secrets });
    started.push(auth.close);
    const partner = await startPartnerApi(auth.verify);
    started.push(partner.close);
    const naive = await startNaiveTenantService({
      partnerOrigin: partner.origin,
      newToken: async (tenant) => (await requestToken(auth.tokenUrl, login('naive', tenant))).value,
    });
    started.push(naive.close);
    // One source for every tenant: the TokenStreams key is the tenant.
    const reactive = await startReactiveTenantService({
      partnerOrigin: partner.origin,
      source: ({ key, signal }) => requestToken(auth.tokenUrl, login('reactive', key as string), signal),
    });
    started.push(reactive.close);

    const origins: Record<ServiceName, string> = { naive: naive.origin, reactive: reactive.origin };
    const sinceLastRound = counter();
    for (let round = 1; round <= rounds; round += 1) {
      if (round > 1) {
        // Real time, on purpose: the demo lets every tenant's token really expire between rounds.
        const waitMs = Math.max(0, auth.lastExpiresAt() - Date.now()) + 50;
        out.log(`Waiting ${seconds(waitMs)} for the tokens to expire...`);
        await sleep(waitMs);
      }
      for (const tally of tallies) {
        const name = tally.name as ServiceName;
        const path = (index: number): string => tenantPath(tenants[index % tenants.length] as string);
        const load = await runRound({ name, origins: [origins[name]] }, { round, requests: parallel, mode: 'parallel', path }, out);
        const rotations = name === 'reactive' ? tenants.map((tenant) => sinceLastRound(`rotations of ${tenant}`, reactive.rotationsOf(tenant))) : undefined;
        const rejected = tenants.map((tenant) => sinceLastRound(`401s of ${clientId(name, tenant)}`, partner.rejectedFor(clientId(name, tenant))));
        tally.add(round, load, {
          authCalls: tenants.map((tenant) => sinceLastRound(`calls of ${clientId(name, tenant)}`, auth.callsBy(clientId(name, tenant)))),
          ...(rotations === undefined ? {} : { rotations }),
          unauthorized: rejected.reduce((sum, count) => sum + count, 0),
        });
        if (rotations !== undefined) {
          const renewed = rotations.filter((count) => count > 0).length;
          out.log(`${name}: ${rotations.reduce((sum, count) => sum + count, 0)} token rotations, for ${renewed} of ${tenantCount} tenants`);
        }
      }
    }
    incidents = reactive.incidents();
  } finally {
    for (const close of started.splice(0).reverse()) await close();
  }

  const [naiveTally, reactiveTally] = tallies as [TenantTally, TenantTally];
  const services = [naiveTally.report(), reactiveTally.report(incidents)];
  return {
    json: { options: { parallel, rounds, ttlMs, authLatencyMs, auth: options.auth, tenants: tenantCount }, services },
    text: `${renderTenantTable(services)}\n\n${summarizeTenants(services, parallel)}`,
    verdict: reactiveTally.judge(incidents),
  };
}

/** How much each named count grew since it was last asked for. */
function counter(): (name: string, now: number) => number {
  const seen = new Map<string, number>();
  return (name, now) => {
    const grown = now - (seen.get(name) ?? 0);
    seen.set(name, now);
    return grown;
  };
}
