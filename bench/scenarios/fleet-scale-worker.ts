/**
 * One process of the fleet-scale scenario, driven by fleet-scale.ts over IPC: a TokenStreams
 * over every key, whose source is redisShared with a key function (on one Redis or on a
 * Cluster) or refreshTokenGrant on postgresCredentialStore. It times, per key, when its own
 * auth call answered and when its last demand got its token.
 */
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';
import { TokenStreams, refreshTokenGrant, type Token, type TokenSource } from 'rx-token-stream';
import { postgresCredentialStore, type PostgresCredentialStore } from 'rx-token-stream/postgres';
import { redisShared, type KeyedSharedTokenSource } from 'rx-token-stream/redis';

/** Where the worker's fleet shares its tokens. */
export type Engine =
  | { kind: 'redis'; url: string }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }> }
  | { kind: 'postgres'; url: string; table: string };

/** What fleet-scale.ts asks of a worker. */
export type ScaleRequest =
  | { type: 'setup'; engine: Engine; tokenUrl: string; keyPrefix: string; keys: string[] }
  /** `perKey` demands on every key at once; first, with `invalidate`, a 401 on the token each key holds. */
  | { type: 'demand'; perKey: number; invalidate: boolean }
  | { type: 'teardown' };

/** A worker's answer to a demand, indexed like the keys; times in epoch ms, sub-ms precision. */
export interface ScaleReply {
  type: 'demand';
  /** When its last demand on each key got its token. */
  releasedAt: number[];
  /** When its own auth call for each key answered, or -1 when it made none. */
  repliedAt: number[];
  /** Keys whose demands in this process got more than one token. */
  mixed: number;
  /** PostgreSQL statements this process sent during the demand (0 for Redis). */
  statements: number;
  /** Redis commands this process sent during the demand (0 for PostgreSQL). */
  commands: number;
  /** Events by kind during the demand (`source:<report kind>` for source reports). */
  events: Record<string, number>;
}

/**
 * Each process's pg pool. With 4 (one held by LISTEN), a cold start of 1,000 keys queued its
 * store reads past the store's 5 s timeoutMs and failed demands; 10 × 8 processes stays well
 * below the server's max_connections (200).
 */
const PG_POOL_MAX = 10;
/**
 * The store's and the streams' timeouts on PostgreSQL. At the defaults (5 s, 10 s), a rotation
 * of 1,000 keys by 8 processes on a 2-core machine failed: each waiting process reads each
 * key's row every pollMs, one statement per key, and those reads queue in the pools.
 */
const PG_STORE_TIMEOUT_MS = 30_000;
const PG_STREAM_TIMEOUT_MS = 60_000;
/** Longer than a holder's slowest turn under that load: a lease that expires mid-turn lets a second process present the same refresh token. */
const PG_LEASE_MS = 90_000;

const wallClock = (): number => performance.timeOrigin + performance.now();

// Every statement a pg client of this process sends, the pool's included: the PostgreSQL
// round trips, since pg_stat_statements is not loaded in the throwaway server.
let statements = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements += 1;
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

// Every command a Redis connection of this process sends (a Cluster's go through its nodes'
// connections): the requests this process makes, whatever the server runs inside scripts.
let commands = 0;
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (this: Redis, ...args: Parameters<typeof sendCommand>) {
  commands += 1;
  return sendCommand.apply(this, args);
};

let keys: string[] = [];
let streams: TokenStreams | undefined;
let closeEngine: () => Promise<void> = async () => undefined;
const held = new Map<string, Token>();
const repliedAt = new Map<string, number>();
let events: Record<string, number> = {};

/** fetch, noting when an answer for a key (named by the server's `x-key`) arrived. */
async function timedFetch(url: string, init: RequestInit): Promise<Response> {
  const response = await fetch(url, init);
  const key = response.headers.get('x-key');
  if (key !== null) repliedAt.set(key, wallClock());
  return response;
}

async function sourceFor(engine: Engine, tokenUrl: string, keyPrefix: string): Promise<TokenSource> {
  if (engine.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: engine.url, max: PG_POOL_MAX });
    pool.on('error', () => {});
    const store: PostgresCredentialStore = postgresCredentialStore({ pool, table: engine.table, timeoutMs: PG_STORE_TIMEOUT_MS });
    closeEngine = async () => {
      await store.close();
      await pool.end();
    };
    return refreshTokenGrant({ tokenUrl, clientId: 'bench', clientSecret: 'bench-secret', store, leaseMs: PG_LEASE_MS, fetch: timedFetch as never });
  }
  const client = engine.kind === 'cluster' ? new Cluster(engine.nodes, { lazyConnect: true }) : new Redis(engine.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  const direct: TokenSource = async ({ key, signal }) => {
    const response = await timedFetch(tokenUrl, { method: 'POST', headers: { 'x-key': key as string }, signal });
    return (await response.json()) as Token;
  };
  const shared: KeyedSharedTokenSource = redisShared(direct, { redis: client, key: (streamKey) => `tenant:${streamKey}`, keyPrefix });
  closeEngine = async () => {
    await shared.close();
    client.disconnect();
  };
  await client.connect();
  return shared;
}

async function demand(perKey: number, invalidate: boolean): Promise<ScaleReply> {
  const tokens = streams as TokenStreams;
  if (invalidate) for (const key of keys) tokens.invalidate(key, held.get(key) as Token);
  repliedAt.clear();
  events = {};
  const before = { statements, commands };
  let mixed = 0;
  const releasedAt = await Promise.all(
    keys.map(async (key) => {
      const all = await Promise.all(Array.from({ length: perKey }, () => tokens.getToken(key)));
      const released = wallClock();
      if (new Set(all.map((token) => token.value)).size !== 1) mixed += 1;
      held.set(key, all[all.length - 1] as Token);
      return released;
    }),
  );
  return { type: 'demand', releasedAt, repliedAt: keys.map((key) => repliedAt.get(key) ?? -1), mixed, statements: statements - before.statements, commands: commands - before.commands, events };
}

async function handle(request: ScaleRequest): Promise<unknown> {
  switch (request.type) {
    case 'setup': {
      keys = request.keys;
      const source = await sourceFor(request.engine, request.tokenUrl, request.keyPrefix);
      const timeoutMs = request.engine.kind === 'postgres' ? { timeoutMs: PG_STREAM_TIMEOUT_MS } : {};
      streams = new TokenStreams({ source, maxKeys: keys.length, ...timeoutMs });
      streams.events$.subscribe((event) => {
        // A fallback's detail names the step and the error: the figure a failed run needs.
        const detail = event.type === 'source' && event.report.detail !== undefined ? `: ${event.report.detail.slice(0, 80)}` : '';
        const kind = event.type === 'source' ? `source:${event.report.kind}${detail}` : event.type;
        events[kind] = (events[kind] ?? 0) + 1;
      });
      return { type: 'setup' };
    }
    case 'demand':
      return demand(request.perKey, request.invalidate);
    case 'teardown':
      streams?.close();
      streams = undefined;
      await closeEngine();
      held.clear();
      return { type: 'teardown' };
  }
}

/** An error's message and its causes' (codes and messages only: the lib keeps secrets out of them). */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let cause = error, depth = 0; cause !== undefined && depth < 4; cause = (cause as { cause?: unknown }).cause, depth += 1) {
    const { code, message } = cause as { code?: unknown; message?: unknown };
    parts.push([code, message ?? String(cause)].filter((part) => part !== undefined).join(' '));
  }
  return parts.join(' <- ');
}

// The parent stops listening once a worker failed: a reply then has nowhere to go.
const reply = (message: unknown): void => {
  if (process.connected) process.send?.(message);
};

process.on('message', (request: ScaleRequest) => {
  void handle(request).then(reply, (error: unknown) => reply({ type: 'error', message: describe(error) }));
});
