// Keys that hold what the fleet never writes: by a bug, an older version, another
// application on the same Redis, or an attacker. Every demand must still succeed, with a
// bounded number of Redis commands and source calls.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TokenStream, type TokenEvent } from 'rx-token-stream';
import { sharedKeys, type SharedTokenSource } from 'rx-token-stream/redis';
import { commandsBetween, commandsServed, redisHarness } from './support.js';

interface Member {
  tokens: TokenStream;
  events: TokenEvent[];
}

describe('redisShared with poisoned keys', () => {
  const harness = redisHarness();
  const streams: TokenStream[] = [];
  afterEach(() => {
    for (const tokens of streams.splice(0)) tokens.close();
  });

  // A member of the fleet: a stream on its own shared source. No retries, and a timeout
  // far below the shared wait's: a demand that is not served at once fails.
  const member = (source: SharedTokenSource): Member => {
    const tokens = new TokenStream({ source, timeoutMs: 2_000, retry: { count: 0 } });
    const events: TokenEvent[] = [];
    tokens.events$.subscribe((event) => events.push(event));
    streams.push(tokens);
    return { tokens, events };
  };
  const reports = ({ events }: Member): string[] =>
    events.flatMap((event) => (event.type === 'source' ? [`${event.report.kind}: ${event.report.detail ?? ''}`] : []));

  describe('the lock key', () => {
    const poisons: [string, (redis: Redis, key: string) => Promise<unknown>, RegExp][] = [
      ['a list', (redis, key) => redis.rpush(key, 'not-a-lock'), /holds a list, not a lock/],
      ['a hash', (redis, key) => redis.hset(key, 'owner', 'x'), /holds a hash, not a lock/],
      ['a string without expiry', (redis, key) => redis.set(key, 'stuck'), /has no expiry/],
    ];
    for (const [kind, poison, detail] of poisons) {
      it(`calls the source directly, once per demand and with a few commands, when it holds ${kind}`, async () => {
        const source = harness.shared({ pollMs: 50 });
        await poison(harness.redis, source.keys.lockKey);
        const one = member(source);
        const before = await commandsServed(harness.redis);
        const first = await one.tokens.getToken();
        one.tokens.invalidate(first);
        const second = await one.tokens.getToken();
        const commands = commandsBetween(before, await commandsServed(harness.redis));
        expect([first.value, second.value]).to.deep.equal(['tok-1', 'tok-2']);
        expect(harness.server.calls).to.equal(2);
        // One read per demand: a waiter that retried at once would run thousands.
        expect(commands.by.eval, JSON.stringify(commands.by)).to.equal(2);
        expect(commands.total, JSON.stringify(commands.by)).to.be.at.most(12);
        expect(reports(one)).to.have.length(2);
        for (const report of reports(one)) expect(report).to.match(/^redis-fallback: lock: /).and.to.match(detail);
        // Not the fleet's to delete: the report says what is wrong, and where.
        expect(reports(one)[0]).to.include(source.keys.lockKey);
        expect(await harness.redis.exists(source.keys.lockKey)).to.equal(1);
      });
    }
  });

  describe('the token key', () => {
    const poisons: [string, (redis: Redis, key: string) => Promise<unknown>][] = [
      ['a hash', (redis, key) => redis.hset(key, 'value', 'x')],
      ['a list', (redis, key) => redis.rpush(key, '{"value":"x"}')],
      ['a set', (redis, key) => redis.sadd(key, '{"value":"x"}')],
    ];
    for (const [kind, poison] of poisons) {
      it(`replaces ${kind} after one source call, and the fleet shares again`, async () => {
        const key = `spec-${randomUUID()}`;
        const { tokenKey } = sharedKeys({ key });
        const [a, b] = [member(harness.shared({ key })), member(harness.shared({ key }))];
        await poison(harness.redis, tokenKey);
        const before = await commandsServed(harness.redis);
        expect((await a.tokens.getToken()).value).to.equal('tok-1');
        expect((await b.tokens.getToken()).value).to.equal('tok-1');
        const commands = commandsBetween(before, await commandsServed(harness.redis));
        expect(harness.server.calls).to.equal(1);
        expect([...reports(a), ...reports(b)]).to.deep.equal([]);
        expect(commands.total, JSON.stringify(commands.by)).to.be.at.most(30);
        expect(await harness.redis.type(tokenKey)).to.equal('string');
      });
    }
  });

  describe('the stored token', () => {
    const far = Date.now() + 3_600_000;
    const poisons: [string, string][] = [
      ['a type that is no auth scheme', JSON.stringify({ value: 'v', expiresAt: far, type: 'Bearer x' })],
      ['a type with CR LF', JSON.stringify({ value: 'v', expiresAt: far, type: 'Bearer\r\nX-Injected: 1' })],
      ['CR LF in the value', JSON.stringify({ value: 'v\r\nX-Injected: 1', expiresAt: far })],
      ['a value that is not ASCII', JSON.stringify({ value: 'vé', expiresAt: far })],
      ['an empty value', JSON.stringify({ value: '', expiresAt: far })],
      ['expiresAt as a string', JSON.stringify({ value: 'v', expiresAt: String(far) })],
      ['an infinite expiresAt', '{"value":"v","expiresAt":1e999}'],
      ['__proto__ keys', '{"__proto__":{"value":"from-proto","expiresAt":1e15},"constructor":{"prototype":{"value":"x"}}}'],
      ['a token under __proto__ only', `{"__proto__":{"value":"v","expiresAt":${far}}}`],
      ['huge JSON', JSON.stringify({ value: 'v'.repeat(2 * 1024 * 1024), expiresAt: far })],
      ['something that is not JSON', 'not json at all'],
      ['JSON that is not an object', '"v"'],
      ['null', 'null'],
      ['an array', '[{"value":"v"}]'],
    ];
    for (const [kind, raw] of poisons) {
      it(`replaces ${kind} after one source call, and the fleet keeps working`, async () => {
        const key = `spec-${randomUUID()}`;
        const { tokenKey } = sharedKeys({ key });
        const [a, b] = [member(harness.shared({ key })), member(harness.shared({ key }))];
        await harness.redis.set(tokenKey, raw);
        expect((await a.tokens.getToken()).value).to.equal('tok-1');
        expect((await b.tokens.getToken()).value).to.equal('tok-1');
        expect(harness.server.calls).to.equal(1);
        expect(JSON.parse((await harness.redis.get(tokenKey)) as string).value).to.equal('tok-1');
        expect([...reports(a), ...reports(b)]).to.deep.equal([]);
      });
    }
  });
});
