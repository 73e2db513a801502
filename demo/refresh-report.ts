import type { Figures, ServiceReport, Verdict } from './results.js';
import { roundGroups, textTable } from './table.js';

/** What the servers counted for one service of `--grant refresh_token`, in one round or in total. */
export type GrantRoundCounts = {
  /** refresh_token grant requests the token server received. */
  grantRequests: number;
  /** Refresh tokens the token server saw presented again after their one use. */
  reusedRefreshTokens: number;
  /** Families the token server revoked for a reuse. */
  revokedFamilies: number;
  /** 401s the partner API answered. */
  unauthorized: number;
};

/** One service of `--grant refresh_token` over the whole run. */
export type GrantReport = ServiceReport<GrantRoundCounts>;

/**
 * The promise of the service on `refreshTokenGrant` (`reactive` in one process, `fleet`
 * across several): one grant request per token rotation (for all processes, for `fleet`),
 * no refresh token presented twice, no family revoked, and no failed request. A failure
 * names its cause when the service saw one: its first incident.
 */
export function judgeGrant(service: GrantReport): Verdict {
  const { name, rotations = 0, total, incidents = [], processes, shared } = service;
  const cause = incidents[0] === undefined ? '' : ` (${name}: ${incidents[0]})`;
  const fail = (reason: string): Verdict => ({ ok: false, reason: `${reason}${cause}` });
  if (rotations === 0) return fail(`${name} received no token`);
  if (total.grantRequests !== rotations) return fail(`${name} made ${total.grantRequests} grant requests for ${rotations} token rotations`);
  if (total.reusedRefreshTokens > 0) return fail(`${name} presented ${total.reusedRefreshTokens} used refresh tokens again`);
  if (total.revokedFamilies > 0) return fail(`the token server revoked ${name}'s refresh token family`);
  if (total.failed > 0) return fail(`${total.failed} ${name} requests failed`);
  const scope = processes !== undefined && shared === true ? ` for all ${processes} processes` : '';
  return { ok: true, reason: `${name}: one grant request per token rotation${scope}, no reused refresh token, no revoked family, no failed request` };
}

const columns = ['round', 'service', 'requests', 'grant requests', 'reused RTs', 'revoked', '401s seen', 'failed', 'p50 ms', 'p99 ms'] as const;

/** The side-by-side table: one row per service and round, then one per service in total. */
export function renderGrantTable(services: GrantReport[]): string {
  return textTable(
    columns,
    roundGroups(services, (label, service, figures) => cells(label, service.name, figures)),
  );
}

/** One sentence per service naming what the numbers show. */
export function summarizeGrant(services: GrantReport[]): string {
  const clauses = services.map(({ name, total, rotations, processes, shared }) => {
    const { requests, grantRequests, reusedRefreshTokens, revokedFamilies, failed } = total;
    const lost = failed === 0 ? 'no request failed' : `${failed} of its ${requests} requests failed`;
    if (revokedFamilies > 0) {
      const times = reusedRefreshTokens === 1 ? 'once' : `${reusedRefreshTokens} times`;
      return `${name} presented a used refresh token again ${times}: the token server revoked its family, and ${lost}`;
    }
    if (rotations === undefined) return `${name} made ${grantRequests} grant requests, and ${lost}`;
    const scope = processes === undefined ? '' : shared === true ? ` for its ${processes} processes together` : ` in each of its ${processes} processes`;
    const calls =
      grantRequests === rotations
        ? `made one grant request per token rotation${scope} (${rotations} rotations, ${grantRequests} requests)`
        : `made ${grantRequests} grant requests for ${rotations} token rotations${scope}`;
    return `${name} ${calls}, and ${lost}`;
  });
  return `What it shows: ${clauses.join('; ')}.`;
}

function cells(label: string, name: string, figures: Figures<GrantRoundCounts>): string[] {
  return [
    label,
    name,
    String(figures.requests),
    String(figures.grantRequests),
    String(figures.reusedRefreshTokens),
    String(figures.revokedFamilies),
    String(figures.unauthorized),
    String(figures.failed),
    figures.p50Ms.toFixed(1),
    figures.p99Ms.toFixed(1),
  ];
}
