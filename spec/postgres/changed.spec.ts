import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { virtualClock } from '../oauth2/support.js';
import { cuttableProxy, postgresHarness, until } from './support.js';

/** A wait whose settling the spec can see without awaiting it. */
function watch(wait: Promise<void> | undefined): { woken: () => boolean; done: Promise<void> } {
  let woken = false;
  const done = (wait ?? Promise.reject(new Error('no changed'))).then(() => {
    woken = true;
  });
  return { woken: () => woken, done };
}

/** How many connections LISTEN on `channel` now. */
async function listeners(pool: pg.Pool, channel: string): Promise<number> {
  const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${channel}"`]);
  return rows[0].n;
}

const resources = (): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
};

describe('postgresCredentialStore: changed, by LISTEN/NOTIFY', function () {
  this.timeout(20_000);
  const harness = postgresHarness();
  let key: string;
  let signal: AbortSignal;
  beforeEach(() => {
    key = `changed-${randomUUID()}`;
    signal = new AbortController().signal;
  });

  it('wakes each first wait once listening starts, so that a change made before it is read, not missed', async () => {
    const store = harness.store();
    await store.changed?.(key, 60_000, signal);
    expect(await listeners(harness.pool, harness.table)).to.equal(1);
  });

  it("wakes waiters of a key on another process's change of it, not on other keys', through one connection", async () => {
    const listening = harness.store();
    const writer = harness.store({ pool: harness.newPool(), listen: false });
    await listening.changed?.(key, 60_000, signal);
    const keys = Array.from({ length: 10 }, (_, i) => `${key}-${i}`);
    const waits = keys.flatMap((k) => Array.from({ length: 10 }, () => watch(listening.changed?.(k, 60_000, new AbortController().signal))));
    const other = watch(listening.changed?.(`${key}-other`, 60_000, signal));
    await writer.put(`${key}-other`, { refreshToken: 'rt-other' });
    await other.done;
    // Notifications arrive in commit order on the one connection: none for these came before.
    expect(waits.filter((wait) => wait.woken())).to.have.length(0);
    await writer.put(keys[3] as string, { refreshToken: 'rt-3' });
    await Promise.all(waits.slice(30, 40).map((wait) => wait.done));
    const fence = (await writer.lease(keys[3] as string, 10_000)) as number;
    await writer.save(keys[3] as string, { version: 1, fence }, { refreshToken: 'rt-3b' });
    expect(waits.filter((wait) => wait.woken()), 'only the 10 waiters of that key').to.have.length(10);
    expect(await listeners(harness.pool, harness.table), 'one LISTEN connection for 101 waiters').to.equal(1);
    await Promise.all(keys.filter((k) => k !== keys[3]).map((k) => writer.put(k, { refreshToken: 'rt' })));
    await Promise.all(waits.map((wait) => wait.done));
  });

  it('wakes every waiter when its LISTEN connection is lost, and listens again on the next wait', async () => {
    const proxy = await cuttableProxy(harness.url);
    try {
      const store = harness.store({ pool: harness.newPool({ connectionString: proxy.url }) });
      const writer = harness.store({ listen: false });
      await store.changed?.(key, 60_000, signal);
      const lost = watch(store.changed?.(key, 60_000, signal));
      proxy.cut();
      await lost.done;
      await store.changed?.(key, 60_000, signal);
      expect(await listeners(harness.pool, harness.table)).to.equal(1);
      const change = watch(store.changed?.(key, 60_000, signal));
      await writer.put(key, { refreshToken: 'rt-1' });
      await change.done;
    } finally {
      await proxy.close();
    }
  });

  it('ends a wait after its timeout on the injected scheduler, and at once on abort', async () => {
    const clock = virtualClock(0);
    const store = harness.store({ scheduler: clock.scheduler });
    await store.changed?.(key, 60_000, signal);
    const timed = watch(store.changed?.(key, 500, signal));
    const controller = new AbortController();
    const aborted = watch(store.changed?.(key, 60_000, controller.signal));
    clock.advanceTo(499);
    await harness.pool.query('SELECT 1');
    expect([timed.woken(), aborted.woken()]).to.deep.equal([false, false]);
    controller.abort();
    await aborted.done;
    expect(timed.woken()).to.equal(false);
    clock.advanceTo(500);
    await timed.done;
    expect(clock.scheduler.actions, 'no timer left').to.have.length(0);
  });

  it('close() ends every wait and destroys the LISTEN connection, leaving no timer, socket or pool client behind', async () => {
    const pool = harness.newPool();
    // Asks on a pool of its own that keeps no idle timer, so that only the store's count.
    const probe = harness.newPool({ idleTimeoutMillis: 0, max: 1 });
    await probe.query('SELECT 1');
    const before = resources();
    const store = harness.store({ pool });
    await store.changed?.(key, 60_000, signal);
    const pending = watch(store.changed?.(key, 60_000, signal));
    expect(pool.totalCount, 'the LISTEN connection').to.equal(1);
    await store.close();
    await pending.done;
    expect(pool.totalCount).to.equal(0);
    expect(await listeners(probe, harness.table)).to.equal(0);
    const after = resources();
    // At most as many: a timer of the specs' own pools may have fired meanwhile.
    for (const kind of ['Timeout', 'TCPSocketWrap']) expect(after[kind] ?? 0, kind).to.be.at.most(before[kind] ?? 0);
    await store.changed?.(key, 60_000, signal);
    const error = await store.get(key).catch((thrown: unknown) => thrown);
    expect(error).to.include({ step: 'get', retryable: false, message: 'rx-token-stream/postgres: get failed: the store is closed' });
    await store.close();
  });

  it('close() while listening starts gives that connection back destroyed as well', async () => {
    const pool = harness.newPool();
    const store = harness.store({ pool });
    const first = watch(store.changed?.(key, 60_000, signal));
    await store.close();
    await first.done;
    await until(() => pool.totalCount === 0, 'no client is left');
    expect(await listeners(harness.pool, harness.table)).to.equal(0);
  });

  it('announces a change by a hash of its key, so that a LISTENer of the database learns no key', async () => {
    const raw = await harness.pool.connect();
    try {
      const payloads: string[] = [];
      raw.on('notification', (message) => payloads.push(message.payload ?? ''));
      await raw.query(`LISTEN "${harness.table}"`);
      await harness.store({ listen: false }).put(key, { refreshToken: 'rt-1' });
      await until(() => payloads.length === 1, 'the NOTIFY arrived');
      expect(payloads[0]).to.match(/^[A-Za-z0-9_-]{43}$/).and.not.include(key);
      await raw.query('UNLISTEN *');
    } finally {
      raw.release();
    }
  });

  it('takes no connection to listen with listen: false', async () => {
    const pool = harness.newPool();
    const store = harness.store({ pool, listen: false });
    await store.put(key, { refreshToken: 'rt-1' });
    expect(store.changed).to.equal(undefined);
    expect(await listeners(harness.pool, harness.table)).to.equal(0);
  });
});
