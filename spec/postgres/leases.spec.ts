import { expect } from 'chai';
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { leaseRanOut, postgresHarness, until } from './support.js';

const HOLDER = fileURLToPath(new URL('./holder-child.ts', import.meta.url));

describe('postgresCredentialStore: leases and saves under concurrency', function () {
  this.timeout(30_000);
  const harness = postgresHarness();
  let key: string;
  beforeEach(() => {
    key = `lease-${randomUUID()}`;
  });

  it('grants the lease to exactly 1 of 40 concurrent callers on 4 pools, on a new key and in each of 20 rounds after', async () => {
    const pools = [1, 2, 3, 4].map(() => harness.newPool({ max: 10 }));
    const stores = pools.map((pool) => harness.store({ pool, listen: false }));
    const race = async (): Promise<number[]> => {
      const fences = await Promise.all(Array.from({ length: 40 }, (_, i) => (stores[i % 4] as (typeof stores)[0]).lease(key, 30_000)));
      return fences.filter((fence): fence is number => fence !== undefined);
    };
    const winners: number[] = [];
    for (let round = 0; round <= 20; round += 1) {
      const won = await race();
      expect(won, `round ${round}: the winners`).to.have.length(1);
      winners.push(won[0] as number);
      await stores[0]?.release(key, won[0] as number);
    }
    expect(winners, 'a greater fence each round').to.deep.equal(winners.map((_, i) => (winners[0] as number) + i));
    const connections = pools.reduce((sum, pool) => sum + pool.totalCount, 0);
    expect(connections, 'the callers ran on many connections at once').to.be.greaterThan(20);
  });

  it('takes exactly 1 of 40 concurrent saves naming the same version and fence, and adds exactly 1 to the version', async () => {
    const stores = [1, 2, 3, 4].map(() => harness.store({ pool: harness.newPool({ max: 10 }), listen: false }));
    const [first] = stores as [(typeof stores)[0]];
    await first.put(key, { refreshToken: 'rt-1' });
    const fence = (await first.lease(key, 30_000)) as number;
    const saved = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (stores[i % 4] as typeof first).save(key, { version: 1, fence }, { refreshToken: `rt-2-${i}` })),
    );
    expect(saved.filter(Boolean)).to.have.length(1);
    const stored = await first.get(key);
    expect(stored?.version).to.equal(2);
    expect(stored?.refreshToken).to.equal(`rt-2-${saved.indexOf(true)}`);
  });

  it('grants a lease on a key not put yet, holds no credential for it, and a put keeps the lease and its fence', async () => {
    const store = harness.store({ listen: false });
    const fence = (await store.lease(key, 30_000)) as number;
    expect(fence).to.equal(1);
    expect(await store.get(key)).to.equal(undefined);
    expect(await store.put(key, { refreshToken: 'rt-1' })).to.equal(1);
    expect(await store.lease(key, 30_000), 'the lease is still held').to.equal(undefined);
    expect(await store.save(key, { version: 1, fence }, { refreshToken: 'rt-2' })).to.equal(true);
    expect(await store.lease(key, 30_000)).to.equal(2);
  });

  it('holds no transaction and no row lock while a lease is held', async () => {
    const store = harness.store({ listen: false });
    await store.put(key, { refreshToken: 'rt-1' });
    expect(await store.lease(key, 30_000)).to.be.a('number');
    const client = await harness.pool.connect();
    try {
      await client.query('BEGIN');
      // NOWAIT fails at once (55P03) if any transaction holds a lock on the row.
      const { rows } = await client.query(`SELECT key FROM ${harness.table} WHERE key = $1 FOR UPDATE NOWAIT`, [key]);
      expect(rows).to.have.length(1);
      await client.query('ROLLBACK');
      const { rows: open } = await client.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      );
      expect(open[0].n, 'sessions left in a transaction').to.equal(0);
    } finally {
      client.release();
    }
  });

  describe('a holder paused in another process', () => {
    let child: ChildProcess | undefined;
    afterEach(() => {
      child?.kill('SIGCONT');
      child?.kill('SIGKILL');
      child = undefined;
    });

    it('refuses its late save once a newer lease was granted, and its pause blocks nobody meanwhile', async () => {
      const holder = fork(HOLDER, [], {
        execArgv: ['--import', 'tsx', '--conditions=rx-token-stream-source'],
        env: { ...process.env, POSTGRES_URL: harness.url, TABLE: harness.table },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child = holder;
      const replies: unknown[] = [];
      holder.on('message', (reply: { ok: boolean; result?: unknown; error?: string }) => replies.push(reply.ok ? reply.result : new Error(reply.error)));
      const ask = async (request: object): Promise<unknown> => {
        const count = replies.length;
        holder.send(request);
        await until(() => replies.length > count, 'the holder answered');
        return replies[count];
      };
      await until(() => replies.length > 0, 'the holder is ready');
      const store = harness.store({ listen: false, timeoutMs: 2_000 });
      await store.put(key, { refreshToken: 'rt-1' });

      const paused = (await ask({ type: 'lease', key, ttlMs: 300 })) as number;
      expect(paused).to.be.a('number');
      holder.kill('SIGSTOP');
      await until(() => leaseRanOut(harness.pool, harness.table, key), 'the paused lease ran out');
      // Within timeoutMs: the paused process holds nothing that could block these.
      const newer = (await store.lease(key, 30_000)) as number;
      expect(newer).to.be.greaterThan(paused);
      expect(await store.save(key, { version: 1, fence: newer }, { refreshToken: 'rt-newer' })).to.equal(true);

      holder.kill('SIGCONT');
      expect(await ask({ type: 'save', key, version: 1, fence: paused, refreshToken: 'rt-paused' })).to.equal(false);
      expect(await store.get(key)).to.deep.include({ refreshToken: 'rt-newer', version: 2 });
    });
  });
});
