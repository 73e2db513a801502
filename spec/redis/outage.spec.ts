import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { TokenStream, type Token } from 'rx-token-stream';
import { redisShared, type SharedTokenSource } from 'rx-token-stream/redis';
import { redisServerBinary, startRedisServer, type RedisServer } from '../support/redis-server.js';
import { httpSource, startTokenServer, type TokenServer } from './token-server.js';

interface Process {
  client: Redis;
  source: SharedTokenSource;
  tokens: TokenStream;
  /** Event types, with the report kind for `source` events. */
  events: string[];
}

const noop = (): void => {};

describe('redisShared while its Redis is stopped and restarted', function () {
  this.timeout(30_000);
  let redisServer: RedisServer | undefined;
  let tokenServer: TokenServer;
  const processes: Process[] = [];

  before(async function () {
    if (redisServerBinary() === undefined) {
      if (process.env.REQUIRE_REDIS === '1') throw new Error('REQUIRE_REDIS=1 but redis-server is not on PATH');
      this.skip();
    }
    // A server of its own: stopping the spec-wide one would break the other Redis specs.
    redisServer = await startRedisServer();
    tokenServer = await startTokenServer();
  });
  after(async () => {
    for (const { tokens, source, client } of processes.splice(0)) {
      tokens.close();
      await source.close();
      client.disconnect();
    }
    await tokenServer?.close();
    await redisServer?.stop();
  });

  // Two processes, as far as Redis can tell: a client, a shared source and a stream each.
  function start(url: string, key: string): Process {
    const client = new Redis(url, { retryStrategy: () => 50 });
    client.on('error', noop);
    const source = redisShared(httpSource(tokenServer.url), {
      redis: client,
      key,
      sourceTimeoutMs: 2_000,
      lockTtlMs: 3_000,
      pollMs: 20,
    });
    const tokens = new TokenStream({ source, timeoutMs: 2_000 });
    const events: string[] = [];
    tokens.events$.subscribe((event) => events.push(event.type === 'source' ? `source:${event.report.kind}` : event.type));
    const started = { client, source, tokens, events };
    processes.push(started);
    return started;
  }

  const demandAll = (ps: Process[], count: number): Promise<Token[][]> =>
    Promise.all(ps.map(({ tokens }) => Promise.all(Array.from({ length: count }, () => tokens.getToken()))));

  it('serves every demand through direct calls while Redis is down, and shares again once it is back', async () => {
    const server = redisServer as RedisServer;
    const key = `outage-${randomUUID()}`;
    const [a, b] = [start(server.url, key), start(server.url, key)];

    const shared = (await demandAll([a, b], 50)).flat();
    expect(new Set(shared.map((t) => t.value))).to.deep.equal(new Set(['tok-1']));
    expect(tokenServer.calls).to.equal(1);

    const closed = Promise.all([a, b].map(({ client }) => new Promise((resolve) => client.once('close', resolve))));
    await server.stop();
    await closed;
    a.tokens.invalidate('tok-1');
    b.tokens.invalidate('tok-1');
    const [fromA, fromB] = await demandAll([a, b], 50);
    // Each process made its own call, one at a time, and no demand failed.
    expect(new Set(fromA?.map((t) => t.value)).size).to.equal(1);
    expect(new Set(fromB?.map((t) => t.value)).size).to.equal(1);
    expect(tokenServer.calls).to.equal(3);
    expect(a.events).to.include('source:redis-fallback');
    expect(b.events).to.include('source:redis-fallback');
    expect(a.events).to.not.include('refresh-failure');

    redisServer = await startRedisServer(server.port);
    await Promise.all(
      [a, b].map(({ client }) =>
        client.status === 'ready' ? undefined : new Promise((resolve) => client.once('ready', resolve)),
      ),
    );
    a.tokens.invalidate(fromA?.[0] as Token);
    b.tokens.invalidate(fromB?.[0] as Token);
    const again = (await demandAll([a, b], 50)).flat();
    expect(new Set(again.map((t) => t.value))).to.deep.equal(new Set(['tok-4']));
    expect(tokenServer.calls).to.equal(4);
    const resumed = [...a.events, ...b.events].filter((event) => event === 'source:redis-resumed');
    expect(resumed).to.have.length(2);
  });

  it('hands out the token of an auth call that outlived Redis, without a second call', async () => {
    const server = redisServer as RedisServer;
    const { client, tokens, events } = start(server.url, `outage-${randomUUID()}`);
    const callsBefore = tokenServer.calls;
    tokenServer.hold = true;
    const pending = tokens.getToken();
    const held = await tokenServer.nextHeld();
    tokenServer.hold = false;
    const closed = new Promise((resolve) => client.once('close', resolve));
    await server.stop();
    await closed;
    held.respond({ value: 'made-before-the-outage', expiresAt: Date.now() + 60_000 });
    expect((await pending).value).to.equal('made-before-the-outage');
    expect(tokenServer.calls - callsBefore).to.equal(1);
    expect(events).to.include('source:redis-fallback');
  });
});
