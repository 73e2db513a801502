import type { IncomingHttpHeaders } from 'node:http';
import { inspect } from 'node:util';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import sinon from 'sinon';
import { expect } from 'chai';
import { TokenStream, type Token, type TokenStreamOptions } from 'rx-token-stream';
import { listen, type LoopbackServer } from '../support/loopback.js';

/** What the API server saw of one request. */
export interface Seen {
  id: string;
  method: string;
  host: string | undefined;
  authorization: string | undefined;
  body: string;
  headers: IncomingHttpHeaders;
}

/**
 * A loopback API that answers 200 to `Authorization: Bearer <value>` for the values in
 * `accepted`, and 401 with an `invalid_token` challenge to anything else. Requests name
 * themselves with `?id=`; `/redirect?to=<url>&status=<3xx>` answers with that redirect.
 */
export interface ApiServer extends LoopbackServer {
  accepted: Set<string>;
  seen: Seen[];
  /** How many requests each id got: the attempts a client made for one call. */
  attempts(): Map<string, number>;
  /** Keeps requests with this id unanswered until the returned function is called. */
  hold(id: string): () => void;
  /** Resolves when a request with this id has arrived. */
  arrival(id: string): Promise<void>;
}

export async function apiServer(): Promise<ApiServer> {
  const seen: Seen[] = [];
  const accepted = new Set<string>();
  const held = new Map<string, Promise<void>>();
  const arrivals = new Map<string, () => void>();
  const server = await listen((req, res) => {
    const url = new URL(req.url ?? '/', 'http://api');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const id = url.searchParams.get('id') ?? '';
      const { authorization } = req.headers;
      seen.push({ id, method: req.method ?? '', host: req.headers.host, authorization, body: Buffer.concat(chunks).toString(), headers: req.headers });
      arrivals.get(id)?.();
      void (held.get(id) ?? Promise.resolve()).then(() => {
        const to = url.searchParams.get('to');
        if (url.pathname === '/redirect' && to !== null) {
          res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: to }).end();
        } else if (authorization !== undefined && accepted.has(authorization.replace(/^Bearer /, ''))) {
          res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${id}`);
        } else {
          res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'text/plain' }).end('denied');
        }
      });
    });
  });
  return Object.assign(server, {
    accepted,
    seen,
    attempts: () => seen.reduce((count, { id }) => count.set(id, (count.get(id) ?? 0) + 1), new Map<string, number>()),
    hold(id: string) {
      let release!: () => void;
      held.set(id, new Promise<void>((resolve) => (release = resolve)));
      return () => release();
    },
    arrival: (id: string) => new Promise<void>((resolve) => arrivals.set(id, resolve)),
  });
}

/** A clock that a spec moves forward, so that "the token has expired" takes no waiting. */
export interface SkewedClock {
  scheduler: SchedulerLike;
  advance(ms: number): void;
}

export function skewedClock(): SkewedClock {
  let skew = 0;
  return {
    scheduler: { now: () => Date.now() + skew, schedule: asyncScheduler.schedule.bind(asyncScheduler) },
    advance: (ms) => void (skew += ms),
  };
}

/** Tokens whose values are easy to find in a log: `secret-1-…`, `secret-2-…`. */
export interface SpecTokens {
  tokens: TokenStream;
  source: sinon.SinonStub;
  clock: SkewedClock;
  /** The value of the n-th token the source gives (from 1). */
  value(n: number): string;
}

/** @param options the stream's options other than its source and clock. */
export function specTokens(options: Omit<TokenStreamOptions, 'source' | 'scheduler'> = {}, lifetimeMs = 3_600_000): SpecTokens {
  const clock = skewedClock();
  const value = (n: number): string => `secret-${n}-6d0f1c9a`;
  let calls = 0;
  const source = sinon.stub().callsFake(async (): Promise<Token> => {
    calls += 1;
    return { value: value(calls), expiresAt: clock.scheduler.now() + lifetimeMs };
  });
  return { tokens: new TokenStream({ ...options, source, scheduler: clock.scheduler }), source, clock, value };
}

/**
 * Asserts that no text of `value` a log would show holds `secret`: `util.inspect` as
 * `console.log` calls it, `JSON.stringify`, and the message and stack of it and its causes.
 */
export function expectNoSecret(value: unknown, secret: string, what: string): void {
  const texts = [inspect(value)];
  try {
    texts.push(JSON.stringify(value) ?? '');
  } catch {
    // A circular structure: JSON.stringify shows nothing of it.
  }
  for (let error = value; error instanceof Error; error = error.cause) texts.push(String(error), error.stack ?? '');
  for (const text of texts) expect(text.includes(secret), `${what} shows the token: ${text.slice(Math.max(0, text.indexOf(secret) - 1500), text.indexOf(secret) + 100)}`).to.equal(false);
}

/** Who received which token: `[id, authorization]` of each request `server` got, in order. */
export const tokenAt = (server: ApiServer): [string, string | undefined][] => server.seen.map((s) => [s.id, s.authorization]);

/** What {@link adapterHarness} hands each spec: set anew before each one. */
export interface AdapterHarness {
  api: ApiServer;
  /** This spec's tokens; a spec may replace them (they are closed after it either way). */
  spec: SpecTokens;
  /** The Authorization value of the n-th token (from 1). */
  bearer(n: number): string;
}

/**
 * Registers, in the calling `describe`, an API server and spec tokens made before each spec
 * and closed after it.
 */
export function adapterHarness(): AdapterHarness {
  const harness = {
    bearer: (n: number): string => `Bearer ${harness.spec.value(n)}`,
  } as AdapterHarness;
  beforeEach(async () => {
    harness.api = await apiServer();
    harness.spec = specTokens();
  });
  afterEach(async () => {
    harness.spec.tokens.close();
    await harness.api.close();
  });
  return harness;
}
