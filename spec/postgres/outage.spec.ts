import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import type { PostgresCredentialStore, PostgresStoreError } from 'rx-token-stream/postgres';
import { virtualClock } from '../oauth2/support.js';
import { listenOnLoopback } from '../support/loopback.js';
import { freePort } from '../support/redis-server.js';
import { cuttableProxy, postgresHarness, storeFailure, until } from './support.js';

const SECRET = 'rt-outage-must-not-leak';

/** A TCP server on loopback that accepts connections and never says a word. */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listenOnLoopback(server);
  return {
    url: `postgres://u@127.0.0.1:${port}/db`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('postgresCredentialStore: outages', () => {
  const harness = postgresHarness();
  let key: string;
  beforeEach(() => {
    key = `outage-${randomUUID()}`;
  });

  it('fails a call that finds the pool full after timeoutMs, retryable, and never runs it when a client comes free later', async () => {
    const clock = virtualClock(1_000_000);
    const pool = harness.newPool({ max: 1 });
    const store = harness.store({ pool, scheduler: clock.scheduler, timeoutMs: 500, listen: false });
    const held = await pool.connect();
    const put = store.put(key, { refreshToken: SECRET });
    clock.advanceTo(1_000_499);
    await until(() => pool.waitingCount === 1, 'the put waits for a client');
    clock.advanceTo(1_000_500);
    const error = await storeFailure(put);
    expect(error).to.include({ step: 'put', retryable: true, code: 'ERR_CREDENTIAL_STORE' });
    expect(error.message).to.equal('rx-token-stream/postgres: put failed: no answer within 500 ms');
    held.release();
    await until(() => pool.waitingCount === 0 && pool.idleCount === 1, 'the late client is back in the pool');
    const { rows } = await harness.pool.query(`SELECT count(*)::int AS n FROM ${harness.table} WHERE key = $1`, [key]);
    expect(rows[0].n, 'the put that timed out did not run late').to.equal(0);
  });

  it('fails a call to a server that accepts and never answers after timeoutMs, and a wait for a change ends at its own timeout', async () => {
    const hole = await blackHole();
    try {
      const clock = virtualClock(0);
      const pool = harness.newPool({ connectionString: hole.url, max: 2 });
      const store = harness.store({ pool, scheduler: clock.scheduler, timeoutMs: 1_000 });
      const get = store.get(key);
      let woken = false;
      const waiting = store.changed?.(key, 300, new AbortController().signal).then(() => (woken = true));
      clock.advanceTo(299);
      await Promise.resolve();
      expect(woken).to.equal(false);
      clock.advanceTo(1_000);
      expect(await storeFailure(get)).to.include({ step: 'get', retryable: true });
      await waiting;
      expect(woken).to.equal(true);
    } finally {
      await hole.close();
    }
  });

  it("says so when a server that never answers makes the pool's connectionTimeoutMillis run out first (retryable)", async () => {
    const hole = await blackHole();
    try {
      const pool = harness.newPool({ connectionString: hole.url, connectionTimeoutMillis: 200 });
      const error = await storeFailure(harness.store({ pool, listen: false }).get(key));
      expect(error).to.include({ step: 'get', retryable: true });
      expect(error.message).to.equal("rx-token-stream/postgres: get failed: no connection was made within the pool's connectionTimeoutMillis");
    } finally {
      await hole.close();
    }
  });

  it("says so when the pool's own connectionTimeoutMillis runs out first (retryable), or the pool was ended (not)", async () => {
    const pool = harness.newPool({ max: 2, connectionTimeoutMillis: 1_000 });
    const held = await Promise.all([pool.connect(), pool.connect()]);
    const store = harness.store({ pool, listen: false });
    const full = await storeFailure(store.get(key));
    expect(full).to.include({ step: 'get', retryable: true });
    expect(full.message).to.equal('rx-token-stream/postgres: get failed: the pool gave no connection within its connectionTimeoutMillis');
    for (const client of held) client.release();
    const ended = harness.newPool();
    await ended.end();
    const error = await storeFailure(harness.store({ pool: ended, listen: false }).get(key));
    expect(error).to.include({ retryable: false, message: 'rx-token-stream/postgres: get failed: the pool was ended' });
  });

  it('fails a call at once, retryable, when nothing listens on the port', async () => {
    const pool = harness.newPool({ connectionString: `postgres://u@127.0.0.1:${await freePort()}/db` });
    const error = await storeFailure(harness.store({ pool, listen: false }).lease(key, 1_000));
    expect(error).to.include({ step: 'lease', retryable: true });
    expect(error.message).to.equal('rx-token-stream/postgres: lease failed: could not reach the server (ECONNREFUSED)');
  });

  describe('a connection lost mid-statement', () => {
    const waiting = `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%WITH saved AS%'`;

    /**
     * Runs a save that waits on a row lock of the spec's own transaction, so that it is in
     * flight when `interrupt` runs, then ends that transaction; the save's error, checked for
     * secrets, and the expectation it named.
     */
    async function interruptedSave(
      store: PostgresCredentialStore,
      interrupt: () => Promise<void>,
    ): Promise<{ error: PostgresStoreError; fence: number }> {
      await store.put(key, { refreshToken: 'rt-1' });
      const fence = (await store.lease(key, 30_000)) as number;
      const blocker = await harness.pool.connect();
      let error: PostgresStoreError;
      try {
        await blocker.query('BEGIN');
        await blocker.query(`SELECT 1 FROM ${harness.table} WHERE key = $1 FOR UPDATE`, [key]);
        // Handled from the start: the save may fail before interrupt() has resolved.
        const failure = storeFailure(store.save(key, { version: 1, fence }, { refreshToken: SECRET }));
        // Asked outside the blocker's transaction, which sees one snapshot of pg_stat_activity.
        await until(async () => (await harness.pool.query(waiting)).rows.length === 1, 'the save waits on the row');
        await interrupt();
        error = await failure;
      } finally {
        await blocker.query('ROLLBACK');
        blocker.release();
      }
      for (const view of [String(error), inspect(error, { depth: Infinity, showHidden: true }), JSON.stringify(error)]) {
        expect(view).not.to.include(SECRET);
      }
      return { error, fence };
    }

    it('fails the statement of a backend the server terminates, retryable and without its values; the save can be made again', async () => {
      const store = harness.store({ listen: false });
      const { error, fence } = await interruptedSave(store, async () => {
        await harness.pool.query(`SELECT pg_terminate_backend(pid) FROM (${waiting}) AS w`);
      });
      expect(error).to.include({ step: 'save', retryable: true, sqlState: '57P01' });
      expect(await store.save(key, { version: 1, fence }, { refreshToken: 'rt-2' }), 'the terminated save was rolled back').to.equal(true);
    });

    it('fails the statement of a connection the network resets, retryable; the statement may still commit, and a second save is refused', async () => {
      const proxy = await cuttableProxy(harness.url);
      try {
        const store = harness.store({ pool: harness.newPool({ connectionString: proxy.url }), listen: false });
        const { error, fence } = await interruptedSave(store, async () => proxy.cut());
        expect(error).to.include({ step: 'save', retryable: true, sqlState: undefined });
        expect(error.message).to.match(/save failed: (the connection was lost|could not reach the server \(ECONNRESET\))$/);
        // The server learns of the lost client only when it answers: the save ran to its
        // commit. What a caller does with an error of a save (docs/postgres.md): read again.
        await until(async () => (await store.get(key))?.version === 2, 'the orphaned save committed');
        expect((await store.get(key))?.refreshToken).to.equal(SECRET);
        expect(await store.save(key, { version: 1, fence }, { refreshToken: SECRET }), 'saved once, not twice').to.equal(false);
      } finally {
        await proxy.close();
      }
    });
  });
});
