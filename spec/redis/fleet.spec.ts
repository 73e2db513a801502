import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { sharedKeys } from 'rx-token-stream/redis';
import type { ChildRequest } from '../fixtures/redis-child.js';
import { requireRedis } from '../support/redis-server.js';
import { Forked } from './forked.js';
import { startTokenServer, type TokenServer } from './token-server.js';

describe('redisShared across 4 processes', function () {
  this.timeout(30_000);
  let url: string;
  let redis: Redis;
  let children: Forked<ChildRequest>[] = [];
  let server: TokenServer;
  // A wait longer than the streams' timeoutMs: a waiter that misses the token fails its
  // demand instead of finding it late.
  const fleet = { lockTtlMs: 1_500, sourceTimeoutMs: 1_000, pollMs: 50, waitTimeoutMs: 60_000 };

  before(async function () {
    url = requireRedis(this);
    redis = new Redis(url);
    children = await Forked.forkAll<ChildRequest>('redis-child.ts', 4);
  });
  beforeEach(async () => {
    server = await startTokenServer();
  });
  const used: string[] = [];
  afterEach(async () => {
    await server.close();
    // REDIS_URL may name a Redis that outlives the run: leave nothing behind.
    for (const key of used.splice(0)) await redis.del(sharedKeys({ key }).tokenKey, sharedKeys({ key }).lockKey);
  });
  after(async () => {
    // After teardown, a child leaves its IPC channel and exits by itself.
    await Promise.all(children.map((child) => child.stop({ type: 'teardown' })));
    redis?.disconnect();
  });

  const setup = (key: string | undefined, alive = children): Promise<unknown> => {
    if (key !== undefined) used.push(key);
    return Promise.all(
      alive.map((child) =>
        child.request({
          type: 'setup',
          tokenUrl: server.url,
          ...(key === undefined ? {} : { redis: { url, key, ...fleet } }),
          timeoutMs: 5_000,
        }),
      ),
    );
  };
  const demand = (count: number, invalidate?: string, alive = children): Promise<string[][]> =>
    Promise.all(
      alive.map((child) => child.request<string[]>({ type: 'demand', count, ...(invalidate === undefined ? {} : { invalidate }) })),
    );

  const sourceEvents = async (): Promise<string[]> =>
    (await Promise.all(children.map((child) => child.request<string[]>({ type: 'events' }))))
      .flat()
      .filter((type) => type.startsWith('source:'));

  it('makes 1 auth call for 1,000 concurrent demands from 4 processes on an empty cache', async () => {
    await setup(`fleet-${randomUUID()}`);
    const values = (await demand(250)).flat();
    expect(values).to.have.length(1_000);
    expect(new Set(values)).to.deep.equal(new Set(['tok-1']));
    expect(server.calls).to.equal(1);
    expect(await sourceEvents(), 'no fallback').to.deep.equal([]);
  });

  it('makes 4 auth calls for the same demands without redisShared (the count is real)', async () => {
    await setup(undefined);
    const values = (await demand(250)).flat();
    expect(values).to.have.length(1_000);
    expect(new Set(values).size).to.equal(4);
    expect(server.calls).to.equal(4);
  });

  it('makes 1 new auth call when all 4 processes invalidate the same token at once', async () => {
    await setup(`fleet-${randomUUID()}`);
    const [first] = (await demand(1)).flat();
    expect(server.calls, `after the first demands; ${(await sourceEvents()).join()}`).to.equal(1);
    const values = (await demand(250, first)).flat();
    expect(new Set(values)).to.deep.equal(new Set(['tok-2']));
    expect(server.calls).to.equal(2);
    expect(await sourceEvents(), 'no fallback').to.deep.equal([]);
  });

  it('serves the waiters by polling when the announcement is lost', async () => {
    const key = `fleet-${randomUUID()}`;
    const keys = sharedKeys({ key });
    await setup(key);
    // This spec is the holder: it takes the lock, and then stores the token without PUBLISH.
    await redis.set(keys.lockKey, 'the-spec', 'PX', 10_000);
    const pending = demand(25);
    for (let i = 0; i < 500; i += 1) {
      const [, subscribed] = (await redis.pubsub('NUMSUB', keys.channel)) as [string, number];
      if (subscribed === 4) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await redis.set(keys.tokenKey, JSON.stringify({ value: 'never-announced', expiresAt: Date.now() + 60_000 }));
    const values = (await pending).flat();
    expect(new Set(values)).to.deep.equal(new Set(['never-announced']));
    expect(values).to.have.length(100);
    expect(server.calls).to.equal(0);
    expect(await redis.exists(keys.lockKey)).to.equal(1);
    // Found by polling within the first attempt, not by a retry after a timeout.
    const events = await Promise.all(children.map((child) => child.request<string[]>({ type: 'events' })));
    expect(events.flat().filter((type) => type === 'refresh-retry')).to.deep.equal([]);
    expect(events.flat().filter((type) => type === 'refresh-success')).to.have.length(4);
  });

  it('hands over within lockTtlMs when the lock holder is SIGKILLed in the middle of its auth call', async () => {
    await setup(`fleet-${randomUUID()}`);
    server.hold = true;
    const pending = children.map((child) => child.request<string[]>({ type: 'demand', count: 25 }));
    const first = await server.nextHeld();
    server.hold = false;
    const victim = children.find((child) => String(child.pid) === first.process);
    expect(victim, 'the holder is one of the children').to.not.equal(undefined);
    const killedAt = Date.now();
    victim?.kill();
    const survivors = children.filter((child) => child !== victim);
    const results = await Promise.allSettled(pending);
    const elapsed = Date.now() - killedAt;
    const values = results
      .filter((_, i) => children[i] !== victim)
      .flatMap((result) => (result.status === 'fulfilled' ? result.value : [`rejected: ${String(result.reason)}`]));
    expect(values).to.have.length(survivors.length * 25);
    expect(new Set(values)).to.deep.equal(new Set(['tok-2']));
    expect(server.calls).to.equal(2);
    expect(elapsed).to.be.at.most(fleet.lockTtlMs + 1_500);
    await victim?.exited;
    const events = await Promise.all(survivors.map((child) => child.request<string[]>({ type: 'events' })));
    expect(events.flat().filter((type) => type === 'refresh-retry' || type.startsWith('source:'))).to.deep.equal([]);
  });
});
