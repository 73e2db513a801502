import fetch from 'node-fetch';
import { TokenStreams, authFetch, type TokenSource } from 'rx-token-stream';
import { requestId, sendJson, serve, type RunningServer } from './http.js';

/** Where the load asks a tenant service for one tenant's data. */
export const tenantPath = (tenant: string): string => `/tenants/${encodeURIComponent(tenant)}/data`;

const TENANT_PATH = /^\/tenants\/([A-Za-z0-9_-]{1,64})\/data$/;

/** The tenant a request is for, or undefined when its path names none. */
const tenantOf = (url: string | undefined): string | undefined => TENANT_PATH.exec(url ?? '')?.[1];

/** What the naive tenant service needs. */
export interface NaiveTenantServiceOptions {
  /** Where the partner API is. */
  partnerOrigin: string;
  /** Fetches a brand-new token for `tenant`, with that tenant's credentials. */
  newToken: (tenant: string) => Promise<string>;
}

/**
 * A service with many tenants, as it is often written today: a `Map` of tokens by tenant.
 * A request for a tenant without a token fetches one, and a request that gets a 401
 * fetches a new one and retries.
 *
 * It makes one auth call per tenant while requests come one at a time. When many requests
 * of a tenant find its token missing or expired at once, each of them calls the auth server.
 *
 * `GET /tenants/<tenant>/data` relays the partner's data for that tenant (200), or answers 502.
 */
export async function startNaiveTenantService({ partnerOrigin, newToken }: NaiveTenantServiceOptions): Promise<RunningServer> {
  const tokens = new Map<string, string>();
  const callPartner = (value: string, forwarded: Record<string, string>) =>
    fetch(`${partnerOrigin}/data`, { headers: { ...forwarded, authorization: `Bearer ${value}` } });
  const fetchToken = async (tenant: string): Promise<string> => {
    const token = await newToken(tenant);
    tokens.set(tenant, token);
    return token;
  };

  return serve(async (req, res) => {
    const tenant = req.method === 'GET' ? tenantOf(req.url) : undefined;
    if (tenant === undefined) return sendJson(res, 404, { error: 'not found' });
    const forwarded = requestId(req);
    let partner = await callPartner(tokens.get(tenant) ?? (await fetchToken(tenant)), forwarded);
    if (partner.status === 401) partner = await callPartner(await fetchToken(tenant), forwarded);
    if (partner.status !== 200) return sendJson(res, 502, { error: `partner answered ${partner.status}` });
    sendJson(res, 200, await partner.json());
  });
}

/** What the reactive tenant service needs. */
export interface ReactiveTenantServiceOptions {
  /** Where the partner API is. */
  partnerOrigin: string;
  /** Where each tenant's tokens come from: called with the tenant as `context.key`. */
  source: TokenSource;
}

/** The reactive tenant service, running. */
export interface ReactiveTenantService {
  /** `http://127.0.0.1:<port>`; the load hits `GET /tenants/<tenant>/data`. */
  origin: string;
  /** How many tokens the stream of `tenant` has received so far: one per rotation. */
  rotationsOf(tenant: string): number;
  /** What went wrong on the way, first first, each once: failed refreshes and source reports, with their tenant. */
  incidents(): string[];
  /** Closes its server and every tenant's stream. */
  close(): Promise<void>;
}

/**
 * The same service on `rx-token-stream`: one `TokenStreams` holds a token per tenant, in
 * bounded memory, and `authFetch` sends the tenant's token through `streams.for(tenant)`.
 * However many requests of a tenant find its token missing, expired or rejected at once,
 * the auth server is called once for that tenant.
 */
export async function startReactiveTenantService({ partnerOrigin, source }: ReactiveTenantServiceOptions): Promise<ReactiveTenantService> {
  const streams = new TokenStreams({ source });
  const rotations = new Map<string, number>();
  const incidents = new Set<string>();
  // Counted from events$, which carries each event's key and never a token.
  const watching = streams.events$.subscribe((event) => {
    if (event.type === 'refresh-success') rotations.set(event.key, (rotations.get(event.key) ?? 0) + 1);
    if (event.type === 'refresh-failure') incidents.add(`${event.key}: token refresh failed: ${event.error.code}: ${event.error.message}`);
    if (event.type === 'source') {
      const { kind, detail } = event.report;
      incidents.add(`${event.key}: ${kind}${detail === undefined ? '' : `: ${detail}`}`);
    }
  });

  const server = await serve(async (req, res) => {
    const tenant = req.method === 'GET' ? tenantOf(req.url) : undefined;
    if (tenant === undefined) return sendJson(res, 404, { error: 'not found' });
    // A handle per request is cheap, and it does not pin the tenant's stream: the map
    // stays bounded however many tenants come by, and an evicted tenant just gets a new one.
    const partnerFetch = authFetch(streams.for(tenant), { origins: [partnerOrigin] });
    const partner = await partnerFetch(`${partnerOrigin}/data`, { headers: requestId(req) });
    if (partner.status !== 200) return sendJson(res, 502, { error: `partner answered ${partner.status}` });
    sendJson(res, 200, await partner.json());
  });

  return {
    origin: server.origin,
    rotationsOf: (tenant) => rotations.get(tenant) ?? 0,
    incidents: () => [...incidents],
    async close() {
      await server.close();
      streams.close();
      watching.unsubscribe();
    },
  };
}
