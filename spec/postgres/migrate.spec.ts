import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { postgresHarness, storeFailure } from './support.js';

const SECRET = 'rt-migrate-must-not-leak-0123456789';

describe('postgresCredentialStore: migrate and the errors of the table', () => {
  const harness = postgresHarness();
  let table: string;
  beforeEach(() => {
    table = `rxts_migrate_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  });
  afterEach(async () => {
    await harness.pool.query(`DROP TABLE IF EXISTS ${table}`);
  });
  const exists = async (): Promise<boolean> => (await harness.pool.query('SELECT to_regclass($1) AS t', [table])).rows[0].t !== null;

  it('creates nothing until migrate(): a call before it fails, not retryable, saying to run it', async () => {
    const store = harness.store({ table });
    const error = await storeFailure(store.put('k', { refreshToken: 'rt-1' }));
    expect(error).to.include({ step: 'put', sqlState: '42P01', retryable: false });
    expect(error.message).to.equal('rx-token-stream/postgres: put failed: the table does not exist: run store.migrate() once (SQLSTATE 42P01)');
    expect(await storeFailure(store.get('k'))).to.include({ step: 'get', sqlState: '42P01' });
    expect(await exists()).to.equal(false);
  });

  it('creates the table once, from 8 processes at the same time, and again changes nothing', async () => {
    const stores = Array.from({ length: 8 }, () => harness.store({ table, pool: harness.newPool({ max: 1 }), listen: false }));
    const outcomes = await Promise.allSettled(stores.map((store) => store.migrate()));
    expect(outcomes.filter((outcome) => outcome.status === 'rejected'), 'failed migrations').to.deep.equal([]);
    await stores[0]?.put('k', { refreshToken: 'rt-1' });
    await stores[1]?.migrate();
    expect(await stores[2]?.get('k')).to.deep.include({ refreshToken: 'rt-1', version: 1 });
  });

  it('refuses a table of that name made with other columns, naming the missing ones, and leaves it as it was', async () => {
    await harness.pool.query(`CREATE TABLE ${table} (key text PRIMARY KEY, token text)`);
    const error = await storeFailure(harness.store({ table }).migrate());
    expect(error).to.include({ step: 'migrate', retryable: false });
    expect(error.message).to.equal(
      'rx-token-stream/postgres: migrate failed: the table exists without the column(s) refresh_token, version, access_token, failure, fence, lease_until: see docs/postgres.md',
    );
    const { rows } = await harness.pool.query('SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0', [table]);
    expect(rows[0].n).to.equal(2);
  });

  it("keeps the values pg's errors echo (detail: Failing row contains ...) out of its own", async () => {
    const store = harness.store({ table });
    await store.migrate();
    // A rule a DBA added: PostgreSQL's answer to a row that breaks it quotes the whole row.
    await harness.pool.query(`ALTER TABLE ${table} ADD CONSTRAINT short_tokens CHECK (length(refresh_token) < 20)`);
    const raw = await harness.pool.query(`INSERT INTO ${table} (key, refresh_token, version) VALUES ('k', $1, 1)`, [SECRET]).catch((e: unknown) => e);
    expect(inspect(raw), 'what pg itself would pass on').to.include(SECRET);
    const error = await storeFailure(store.put('k', { refreshToken: SECRET }));
    expect(error).to.include({ step: 'put', sqlState: '23514', retryable: false });
    expect(error.cause).to.equal(undefined);
    for (const view of [String(error), error.stack, inspect(error, { depth: Infinity, showHidden: true }), JSON.stringify(error)]) {
      expect(view).not.to.include(SECRET);
    }
  });
});
