// Issue 12, fleet mode with keys: 4 forked processes, each with a TokenStreams whose source
// is one redisShared with a key function, every option at its default, all demanding the
// same 1,000 keys at once. Counted for real: the auth calls the token server received, the
// connections and subscriptions Redis sees (CLIENT LIST), the commands it ran (INFO).
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { connectionName, type KeyedChildRequest, type KeyedChildState } from '../fixtures/redis-keyed-child.js';
import { requireRedis } from '../support/redis-server.js';
import { Forked } from './forked.js';
import { clientsNamed, commandsBetween, commandsServed, until } from './support.js';
import { startTokenServer, type TokenServer } from './token-server.js';

const PROCESSES = 4;
const KEYS = Array.from({ length: 1_000 }, (_, i) => `tenant-${String(i).padStart(4, '0')}`);

describe('redisShared with a key per tenant across 4 processes (issue 12)', function () {
  this.timeout(120_000);
  let url: string;
  let redis: Redis;
  let children: Forked<KeyedChildRequest>[] = [];
  let server: TokenServer;
  let keyPrefix: string;

  before(async function () {
    url = requireRedis(this);
    redis = new Redis(url);
    children = await Forked.forkAll<KeyedChildRequest>('redis-keyed-child.ts', PROCESSES);
  });
  beforeEach(async () => {
    server = await startTokenServer();
    keyPrefix = `spec-${randomUUID()}:`;
  });
  afterEach(async () => {
    await Promise.all(children.map((child) => child.request({ type: 'teardown' })));
    await server.close();
    // REDIS_URL may name a Redis that outlives the run: leave nothing behind.
    const left = await redis.keys(`${keyPrefix}*`);
    if (left.length > 0) await redis.del(...left);
  });
  after(async () => {
    await Promise.all(children.map((child) => child.stop({ type: 'exit' })));
    redis?.disconnect();
  });

  const setup = (shared: boolean): Promise<unknown> =>
    Promise.all(
      children.map((child) =>
        child.request({ type: 'setup', tokenUrl: server.url, ...(shared ? { redis: { url, keyPrefix } } : {}) }),
      ),
    );
  /** Every process demands every key `perKey` times at once: each one's token per key. */
  const demandAll = (perKey: number, invalidate = false, keys = KEYS): Promise<string[][]> =>
    Promise.all(children.map((child) => child.request<string[]>({ type: 'demand', keys, perKey, invalidate })));
  const states = (): Promise<KeyedChildState[]> => Promise.all(children.map((child) => child.request<KeyedChildState>({ type: 'state' })));

  /** Each key's value, checked to be the same in every process and to be that key's. */
  function agreed(byProcess: string[][]): string[] {
    const [first = []] = byProcess;
    for (const values of byProcess) expect(values, 'every process got the same token for each key').to.deep.equal(first);
    first.forEach((value, i) => expect(value.endsWith(`-${KEYS[i]}`), `${value} is a token of ${KEYS[i]}`).to.equal(true));
    return first;
  }

  /** Every key had exactly `n` auth calls. */
  function callsPerKey(n: number): void {
    const wrong = KEYS.filter((key) => server.callsByKey.get(key) !== n);
    expect(wrong.map((key) => `${key}: ${server.callsByKey.get(key) ?? 0}`), `keys without exactly ${n} auth calls`).to.deep.equal([]);
  }

  it('makes 1 auth call per key per rotation, with 2 connections and 1 subscription per process whatever the number of keys', async () => {
    await setup(true);
    const cold = agreed(await demandAll(2));
    expect(server.calls, 'a cold start: one auth call per key, fleet-wide').to.equal(KEYS.length);
    callsPerKey(1);

    // At rest, with 1,000 keys held in each process.
    const rest = await states();
    for (const state of rest) {
      expect(state.size).to.equal(KEYS.length);
      expect(state.events['source:redis-fallback'] ?? 0, 'no fallback: Redis kept up').to.equal(0);
      const retries = Object.keys(state.events).filter((kind) => kind.startsWith('refresh-retry'));
      expect(retries, `no retry: ${JSON.stringify(state.events)}`).to.deep.equal([]);
      expect(state.timers, 'no timer per key').to.be.below(10);
    }
    for (const child of children) {
      const clients = await clientsNamed(redis, connectionName(child.pid));
      // The subscriber connection opens with the first wait: a process that never waited has none.
      expect(clients.length, `connections of process ${child.pid}`).to.be.within(1, 2);
      expect(clients.reduce((sum, client) => sum + client.sub, 0), 'channel subscriptions').to.equal(0);
      expect(clients.reduce((sum, client) => sum + client.psub, 0), 'pattern subscriptions').to.equal(clients.length - 1);
    }
    expect(await redis.pubsub('NUMPAT'), 'the same pattern in every process').to.equal(1);

    // A forced rotation of every key: each process rejects the token it holds, at once.
    const before = await commandsServed(redis);
    const startedAt = Date.now();
    const rotated = agreed(await demandAll(2, true));
    const rotationMs = Date.now() - startedAt;
    const commands = commandsBetween(before, await commandsServed(redis));
    expect(server.calls, 'one more auth call per key').to.equal(2 * KEYS.length);
    callsPerKey(2);
    rotated.forEach((value, i) => expect(value, 'a new token').to.not.equal(cold[i]));
    for (const state of await states()) expect(state.events['source:redis-fallback'] ?? 0).to.equal(0);
    // Scripts run (each touching a token and its lock, in one slot), and every command Redis
    // ran, those inside the scripts included. Besides a fixed number per process (a read, the
    // race for the lock, a read under it, the write), each process that waits reads the key
    // once per pollMs (250 ms by default) while it waits, and once per announcement.
    const perKey = (n = 0): number => n / KEYS.length;
    const polls = (PROCESSES - 1) * (Math.ceil(rotationMs / 250) + 2);
    const measured = `${JSON.stringify(commands.by)} for ${KEYS.length} keys in ${rotationMs} ms`;
    expect(perKey(commands.by.eval), `scripts per key per rotation: ${measured}`).to.be.at.most(PROCESSES * 3 + polls);
    expect(perKey(commands.total), `commands per key per rotation: ${measured}`).to.be.at.most(PROCESSES * 12 + polls * 5);
  });

  it('makes 1 auth call per key per process without redisShared (the count is real)', async () => {
    await setup(false);
    // A quarter of the keys: as many auth calls as the shared fleet's cold start makes.
    const keys = KEYS.slice(0, KEYS.length / PROCESSES);
    const byProcess = await demandAll(2, false, keys);
    expect(new Set(byProcess.flat()).size).to.equal(PROCESSES * keys.length);
    expect(server.calls).to.equal(PROCESSES * keys.length);
  });

  it('lets go of every connection of every process on close()', async () => {
    await setup(true);
    await demandAll(1);
    await Promise.all(children.map((child) => child.request({ type: 'teardown' })));
    // QUIT is answered before the server drops the connection: wait, bounded, until it has.
    for (const child of children) {
      await until(async () => (await clientsNamed(redis, connectionName(child.pid))).length === 0, `process ${child.pid} has no connection`);
    }
    expect(await redis.pubsub('NUMPAT')).to.equal(0);
  });
});
