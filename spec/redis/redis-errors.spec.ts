// Redis answering with an error, rather than not answering: each step that fails costs a
// direct source call and a `redis-fallback` report, never a failed demand or a retry loop.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { SharedTokenSource } from 'rx-token-stream/redis';
import { freePort, redisServerBinary, requireRedis, startRedisServer, type RedisServer } from '../support/redis-server.js';
import { call, commandsBetween, commandsServed, redisHarness } from './support.js';

describe('redisShared when Redis answers with errors', () => {
  const harness = redisHarness();

  it('keeps sharing after SCRIPT FLUSH (no NOSCRIPT)', async () => {
    const key = `spec-${randomUUID()}`;
    const [a, b] = [harness.shared({ key }), harness.shared({ key })];
    const first = call(a);
    expect((await first.result).value).to.equal('tok-1');
    await harness.redis.script('FLUSH');
    const second = call(b, { previous: await first.result });
    expect((await second.result).value).to.equal('tok-2');
    await harness.redis.script('FLUSH');
    expect((await call(a).result).value).to.equal('tok-2');
    expect(harness.server.calls).to.equal(2);
    expect([...first.reports, ...second.reports]).to.deep.equal([]);
  });

  /** Runs `body` with a client of a Redis user that may not run `denied`; removes the user after. */
  async function asUserWithout(context: Mocha.Context, denied: string, body: (client: Redis) => Promise<void>): Promise<void> {
    const user = `spec-${randomUUID()}`;
    await harness.redis.acl('SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', `-${denied}`);
    const url = new URL(requireRedis(context));
    const client = new Redis({ host: url.hostname, port: Number(url.port), username: user, password: 'pw' });
    try {
      await client.ping();
      await body(client);
    } finally {
      client.disconnect();
      await harness.redis.acl('DELUSER', user);
    }
  }

  it('calls the source directly, with one refused command per demand, when Redis refuses its reads (NOPERM)', async function () {
    await asUserWithout(this, 'eval', async (limited) => {
      const source = harness.shared({ redis: limited });
      const before = await commandsServed(harness.redis);
      const first = call(source);
      expect((await first.result).value).to.equal('tok-1');
      const second = call(source, { previous: await first.result });
      expect((await second.result).value).to.equal('tok-2');
      const commands = commandsBetween(before, await commandsServed(harness.redis));
      expect(harness.server.calls).to.equal(2);
      for (const { reports } of [first, second]) {
        expect(reports.map((r) => r.kind)).to.deep.equal(['redis-fallback']);
        expect(reports[0]?.detail).to.match(/^read: NOPERM/);
      }
      expect(commands.by, JSON.stringify(commands.by)).to.deep.equal({ eval: 2 });
    });
  });

  it('releases its lock when its write fails half-way (PUBLISH refused by an ACL)', async function () {
    await asUserWithout(this, 'publish', async (limited) => {
      const source = harness.shared({ redis: limited });
      const { result, reports } = call(source);
      expect((await result).value).to.equal('tok-1');
      expect(reports).to.have.length(1);
      expect(reports[0]?.detail).to.match(/^write: ERR The user executing the script can't run this command/);
      expect(await harness.redis.exists(source.keys.lockKey), 'the others need not wait lockTtlMs').to.equal(0);
    });
  });

  describe('on a read-only replica', function () {
    this.timeout(20_000);
    let server: RedisServer | undefined;
    let client: Redis | undefined;
    before(async function () {
      if (redisServerBinary() === undefined) this.skip();
      // A server of its own: turning the spec-wide one into a replica would break the others.
      server = await startRedisServer();
      client = new Redis(server.url);
    });
    after(async () => {
      client?.disconnect();
      await server?.stop();
    });

    it('calls the source directly while writes fail with READONLY, and shares again after', async () => {
      const redis = client as Redis;
      // A replica of a primary that does not exist: reads work, every write fails.
      await redis.replicaof('127.0.0.1', await freePort());
      const source: SharedTokenSource = harness.shared({ redis });
      const first = call(source);
      expect((await first.result).value).to.equal('tok-1');
      expect(first.reports.map((r) => `${r.kind}: ${r.detail ?? ''}`)).to.deep.equal([
        'redis-fallback: lock: READONLY You can\'t write against a read only replica.',
      ]);
      expect(await redis.exists(source.keys.tokenKey)).to.equal(0);
      await redis.replicaof('NO', 'ONE');
      const second = call(source, { previous: await first.result });
      expect((await second.result).value).to.equal('tok-2');
      expect(second.reports.map((r) => r.kind)).to.deep.equal(['redis-resumed']);
      expect(JSON.parse((await redis.get(source.keys.tokenKey)) as string).value).to.equal('tok-2');
      expect(harness.server.calls).to.equal(2);
      await redis.del(source.keys.tokenKey);
    });
  });
});
