// npm run demo -- --grant refresh_token [--processes 4 --redis redis://127.0.0.1:6379]
//
// Rotating refresh tokens, where token handling breaks hardest: the token server takes a
// refresh token presented twice as theft and revokes its whole family. The same load as
// the default run goes to a naive service (each request that finds its access token
// expired presents the refresh token it holds) and to one on refreshTokenGrant. With
// --processes, the latter keeps its refresh token in a store per process (per-process),
// and with --redis a third one (fleet) shares it through Redis.
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { redisCredentialStore } from 'rx-token-stream/redis';
import { formatDuration, type DemoOptions } from './cli.js';
import { startFleet } from './fleet.js';
import type { Outcome } from './outcome.js';
import { startPartnerApi } from './partner-api.js';
import { judgeGrant, renderGrantTable, summarizeGrant, type GrantRoundCounts } from './refresh-report.js';
import { startRefreshServices, type RefreshServicesPlan } from './refresh-services.js';
import { Tally } from './results.js';
import { startRotatingTokenServer } from './rotating-token-server.js';
import { runRound, seconds, type LoadTarget } from './round.js';
import { closeServices, type ServiceName } from './services.js';
import type { Terminal } from './terminal.js';

/** One service under load, as the rounds see it. */
interface GrantService extends LoadTarget {
  name: ServiceName;
  /** Tokens its `TokenStream`s received (see fleet.ts); absent for naive. Complete once closed. */
  rotations?: () => number;
  incidents?: () => string[];
}

/** Runs the rounds of `--grant refresh_token` and says what each service cost the token server. */
export async function runRefreshGrant(options: DemoOptions, out: Terminal): Promise<Outcome> {
  const { parallel, rounds, ttlMs, authLatencyMs, processes, redisUrl } = options;
  const reactiveName = processes === undefined ? 'reactive' : 'per-process';
  const names: ServiceName[] = ['naive', reactiveName, ...(redisUrl === undefined ? [] : ['fleet' as const])];
  // Each service is a client of the token server, with a secret made for this run.
  const secrets = new Map(names.map((name) => [name, randomBytes(18).toString('base64url')] as const));
  const where = processes === undefined ? '' : ` in ${processes} processes each`;
  out.log(
    `Starting a token server that rotates refresh tokens and revokes a family on reuse (ttl ${formatDuration(ttlMs)}, ` +
      `auth latency ${formatDuration(authLatencyMs)}), a partner API and the services in front of it${where} on 127.0.0.1, ` +
      `for ${rounds} rounds of ${parallel} requests.`,
  );

  const started: Array<() => Promise<void>> = [];
  let services: GrantService[] = [];
  let tallies: Array<Tally<GrantRoundCounts>> = [];
  try {
    const server = await startRotatingTokenServer({ ttlMs, latencyMs: authLatencyMs, clients: secrets });
    started.push(server.close);
    const partner = await startPartnerApi(server.verify);
    started.push(partner.close);
    // Each service's user consented once: the server minted a family of refresh tokens for each.
    const plan: RefreshServicesPlan = {
      grant: 'refresh_token',
      tokenUrl: server.tokenUrl,
      partnerOrigin: partner.origin,
      secrets: Object.fromEntries(secrets),
      refreshTokens: { naive: server.mint('naive'), reactive: server.mint(reactiveName) },
      reactiveName,
    };
    if (redisUrl !== undefined) {
      // A key prefix of this run's own, so that two runs never share a credential.
      plan.redis = { url: redisUrl, keyPrefix: `rx-token-stream-demo:${randomUUID()}:`, key: 'user-42' };
      const put = await putFleetCredential(plan.redis, server.mint('fleet'));
      if (typeof put === 'string') return failedBeforeStart(options, `fleet could not put its refresh token in Redis: ${put}`);
      started.push(put);
    }
    services = await startGrantServices(plan, processes, out.log, started);
    tallies = services.map((service) => new Tally<GrantRoundCounts>(service.name));

    const sinceLastRound = new Map<string, GrantRoundCounts>();
    for (let round = 1; round <= rounds; round += 1) {
      if (round > 1) {
        // Real time, on purpose: the demo lets the access tokens really expire between rounds.
        const waitMs = Math.max(0, server.lastExpiresAt() - Date.now()) + 50;
        out.log(`Waiting ${seconds(waitMs)} for the access tokens to expire...`);
        await sleep(waitMs);
      }
      for (const [index, service] of services.entries()) {
        const mode = round === 1 ? 'sequential' : 'parallel';
        const load = await runRound(service, { round, requests: parallel, mode }, out);
        const { grantRequests, reusedRefreshTokens, revokedFamilies } = server.counts(service.name);
        const now: GrantRoundCounts = { grantRequests, reusedRefreshTokens, revokedFamilies, unauthorized: partner.rejectedFor(service.name) };
        const before = sinceLastRound.get(service.name);
        sinceLastRound.set(service.name, now);
        tallies[index]?.add(round, load, {
          grantRequests: now.grantRequests - (before?.grantRequests ?? 0),
          reusedRefreshTokens: now.reusedRefreshTokens - (before?.reusedRefreshTokens ?? 0),
          revokedFamilies: now.revokedFamilies - (before?.revokedFamilies ?? 0),
          unauthorized: now.unauthorized - (before?.unauthorized ?? 0),
        });
      }
    }
  } finally {
    for (const close of started.splice(0).reverse()) await close();
  }

  // Once closed: the rotations and incidents of forked processes come as they exit.
  const reports = services.map(({ name, rotations, incidents }, index) => {
    const seen = incidents?.() ?? [];
    return (tallies[index] as Tally<GrantRoundCounts>).report({
      ...(rotations === undefined ? {} : { rotations: rotations() }),
      ...(processes === undefined ? {} : { processes, shared: name === 'fleet' }),
      ...(seen.length === 0 ? {} : { incidents: seen }),
    });
  });
  // The row that makes the promise: fleet across processes, reactive in one.
  const promised = reports.find((report) => report.name === (redisUrl === undefined ? 'reactive' : 'fleet'));
  return {
    json: { options: shownOptions(options), services: reports },
    text: `${renderGrantTable(reports)}\n\n${summarizeGrant(reports)}`,
    verdict: promised === undefined ? { ok: false, reason: 'no service on refreshTokenGrant ran' } : judgeGrant(promised),
  };
}

/** The options a report shows. The Redis URL stays out: it may carry a password. */
function shownOptions({ parallel, rounds, ttlMs, authLatencyMs, processes }: DemoOptions): object {
  return { parallel, rounds, ttlMs, authLatencyMs, grant: 'refresh_token', ...(processes === undefined ? {} : { processes }) };
}

/** A run that could not start its services: no figures, and why. */
function failedBeforeStart(options: DemoOptions, reason: string): Outcome {
  return { json: { options: shownOptions(options), services: [] }, text: '', verdict: { ok: false, reason } };
}

/** Starts the services here, or in `processes` forked ones; registers how to close them. */
async function startGrantServices(
  plan: RefreshServicesPlan,
  processes: number | undefined,
  log: (line: string) => void,
  started: Array<() => Promise<void>>,
): Promise<GrantService[]> {
  if (processes === undefined) {
    const services = await startRefreshServices(plan, log);
    started.push(() => closeServices(services));
    return services.map(({ name, origin, rotations, incidents }) => ({
      name,
      origins: [origin],
      ...(rotations === undefined ? {} : { rotations }),
      ...(incidents === undefined ? {} : { incidents }),
    }));
  }
  const fleet = await startFleet(plan, processes, log);
  started.push(fleet.close);
  return fleet.services;
}

/**
 * Puts the fleet's first refresh token where its processes will find it, as the user's
 * consent does: `store.put` starts the family. Returns how to take it out of Redis again
 * (a demo run leaves nothing behind), or why it could not be put there.
 */
async function putFleetCredential(where: { url: string; keyPrefix: string; key: string }, refreshToken: string): Promise<(() => Promise<void>) | string> {
  const redis = new Redis(where.url, { lazyConnect: true });
  const store = redisCredentialStore({ redis, keyPrefix: where.keyPrefix });
  const disconnect = async (): Promise<void> => {
    await store.close();
    redis.disconnect();
  };
  try {
    await store.put(where.key, { refreshToken });
  } catch (error) {
    await disconnect();
    // The store's errors name the step and the cause, never a token (nor the URL).
    const { message, cause } = error as Error & { cause?: Error };
    return cause?.message === undefined ? message : `${message}: ${cause.message}`;
  }
  return async () => {
    const { credential, lease } = store.keys(where.key);
    await redis.del(credential, lease);
    await disconnect();
  };
}
