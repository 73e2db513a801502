// What the Redis specs share: calling a source as a stream would, counting what Redis
// received, and a harness of hooks that gives each spec a Redis client, a token server and
// shared sources on fresh keys, all closed and deleted afterwards.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { firstValueFrom, from } from 'rxjs';
import type { SourceReport, Token, TokenSource, TokenSourceContext } from 'rx-token-stream';
import { redisShared, type RedisSharedOptions, type SharedTokenSource } from 'rx-token-stream/redis';
import { requireRedis } from '../support/redis-server.js';
import { httpSource, startTokenServer, type TokenServer } from './token-server.js';

/** One call of a source, as a TokenStream makes it. */
export interface Call {
  result: Promise<Token>;
  reports: SourceReport[];
  controller: AbortController;
}

/** Calls a source as a TokenStream would. */
export function call(source: TokenSource, context: Partial<TokenSourceContext> = {}): Call {
  const reports: SourceReport[] = [];
  const controller = new AbortController();
  const result = firstValueFrom(
    from(source({ signal: controller.signal, reason: 'initial', report: (r) => reports.push(r), ...context })),
  );
  result.catch(() => {});
  return { result, reports, controller };
}

/** Polls a condition on a real external process, bounded. */
export async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/**
 * How many commands the server has received, by name (`eval`, `set`, and each command run
 * inside a script), refused ones included, leaving out the INFO calls that ask. Take a
 * difference of two of them.
 */
export async function commandsServed(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const counts = new Map<string, number>();
  for (const [, name, calls, rejected] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)(?:.*rejected_calls=(\d+))?/gm)) {
    if (name !== undefined && name !== 'info') counts.set(name, Number(calls) + Number(rejected ?? 0));
  }
  return counts;
}

/** The commands run between two {@link commandsServed}: the total, and by name. */
export function commandsBetween(before: Map<string, number>, after: Map<string, number>): { total: number; by: Record<string, number> } {
  const by: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0);
    if (delta > 0) by[name] = delta;
    total += delta;
  }
  return { total, by };
}

/** What {@link redisHarness} hands each spec. */
export interface RedisHarness {
  /** A client of the spec-wide Redis, for the spec's own reads and writes. */
  readonly redis: Redis;
  /** This spec's token server (a new one per spec). */
  readonly server: TokenServer;
  /** A shared source on a fresh key (or `options.key`), over `redis` and the token server. */
  shared(options?: Partial<RedisSharedOptions & { key: string }>, source?: TokenSource): SharedTokenSource;
}

/**
 * Registers, in the calling `describe`, the hooks of a suite against the spec-wide Redis:
 * the suite skips without Redis; every shared source is closed, and its keys deleted, after
 * each spec (REDIS_URL may name a Redis that outlives the run).
 */
export function redisHarness(): RedisHarness {
  let redis: Redis | undefined;
  let server: TokenServer | undefined;
  const opened: SharedTokenSource[] = [];
  before(function () {
    redis = new Redis(requireRedis(this));
  });
  beforeEach(async () => {
    server = await startTokenServer();
  });
  afterEach(async () => {
    const done = opened.splice(0);
    await Promise.all(done.map((source) => source.close()));
    for (const { keys } of done) await redis?.del(keys.tokenKey, keys.lockKey);
    await server?.close();
  });
  after(() => {
    redis?.disconnect();
  });
  return {
    get redis() {
      return redis as Redis;
    },
    get server() {
      return server as TokenServer;
    },
    shared(options = {}, source) {
      const made = redisShared(source ?? httpSource((server as TokenServer).url), {
        redis: redis as Redis,
        key: `spec-${randomUUID()}`,
        lockTtlMs: 3_000,
        sourceTimeoutMs: 2_000,
        pollMs: 20,
        ...options,
      });
      opened.push(made);
      return made;
    },
  };
}

/** A connection as CLIENT LIST shows it: its channel and pattern subscriptions. */
export interface ClientInfo {
  name: string;
  sub: number;
  psub: number;
}

/** The connections Redis holds now whose client name is `name`. */
export async function clientsNamed(redis: Redis, name: string): Promise<ClientInfo[]> {
  const list = String(await redis.client('LIST'));
  return list
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.trim().split(' ').map((field) => field.split('=', 2) as [string, string])))
    .filter((fields) => fields.name === name)
    .map((fields) => ({ name, sub: Number(fields.sub), psub: Number(fields.psub) }));
}
