import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { postgresHarness, storeFailure } from './support.js';

const SECRET = 'rt-poison-must-not-leak';
const GOOD_TOKEN = JSON.stringify({ value: 'at-good', expiresAt: 4_102_444_800_000, type: 'Bearer' });

/** A row as another program may have written it, column by column (SQL literals). */
interface Poison {
  name: string;
  refresh_token?: string;
  version?: string;
  access_token?: string;
  failure?: string;
}

const lit = (text: string): string => `'${text.replaceAll("'", "''")}'`;

describe('postgresCredentialStore: rows it did not write', () => {
  const harness = postgresHarness();
  let key: string;
  before(async () => {
    // As a DBA or another program may have left the table: without the store's checks.
    const { table } = harness;
    await harness.pool.query(`ALTER TABLE ${table} DROP CONSTRAINT ${table}_version_check, ALTER COLUMN version DROP NOT NULL`);
  });
  beforeEach(() => {
    key = `poisoned-${randomUUID()}`;
  });

  const write = async (poison: Poison): Promise<void> => {
    const columns = { refresh_token: lit(SECRET), version: '3', access_token: 'NULL', failure: 'NULL', ...poison };
    await harness.pool.query(
      `INSERT INTO ${harness.table} (key, refresh_token, version, access_token, failure)
       VALUES ($1, ${columns.refresh_token}, ${columns.version}, ${columns.access_token}, ${columns.failure})`,
      [key],
    );
  };

  const unusable: Poison[] = [
    { name: 'a refresh token with CR/LF', refresh_token: `E'${SECRET}\\r\\nX-Injected: 1'` },
    { name: 'an empty refresh token', refresh_token: "''" },
    { name: 'a refresh token over 16384 characters', refresh_token: `repeat('r', 16385)` },
    { name: 'a refresh token that is not ASCII', refresh_token: `'${SECRET}é'` },
    { name: 'a negative version', version: '-1' },
    { name: 'version 0 with a refresh token', version: '0' },
    { name: 'no version', version: 'NULL' },
    { name: 'a version past 2^53', version: '9007199254740993' },
    { name: 'a failure of an unknown reason', failure: `'{"reason":"whatever"}'` },
    { name: 'a refused failure without its client', failure: `'{"reason":"refused","error":"invalid_client"}'` },
    { name: 'a failure that is a JSON string', failure: `'"reauth-required"'` },
    { name: 'a refused failure with a control character', failure: `'{"reason":"refused","error":"x\\u000a","client":"fp"}'` },
  ];
  for (const poison of unusable) {
    it(`says there is no credential for ${poison.name}, and a put starts a sound family`, async () => {
      const store = harness.store();
      await write(poison);
      expect(await store.get(key)).to.equal(undefined);
      // A save over it (only a holder that read version 3 could name it) replaces it, or is refused: either is sound.
      const fence = (await store.lease(key, 10_000)) as number;
      expect(await store.save(key, { version: 3, fence }, { refreshToken: 'rt-over-poison' })).to.be.a('boolean');
      const version = await store.put(key, { refreshToken: 'rt-fresh' });
      expect(version).to.be.at.least(1);
      expect(await store.get(key)).to.deep.include({ refreshToken: 'rt-fresh', version });
    });
  }

  const droppedTokens: Poison[] = [
    { name: 'a value with CR/LF', access_token: `'{"value":"at\\r\\nX: 1","expiresAt":1}'` },
    { name: 'a value that is a number', access_token: `'{"value":42}'` },
    { name: 'an expiresAt that is a string', access_token: `'{"value":"at","expiresAt":"soon"}'` },
    { name: 'a type that is no auth scheme', access_token: `'{"value":"at","type":"Bearer x"}'` },
    { name: 'an array', access_token: `'["at"]'` },
  ];
  for (const poison of droppedTokens) {
    it(`keeps the credential but drops an access token with ${poison.name}`, async () => {
      await write(poison);
      const stored = await harness.store().get(key);
      expect(stored).to.deep.include({ refreshToken: SECRET, version: 3 });
      expect(stored?.accessToken).to.equal(undefined);
    });
  }

  it('hands out only the token fields of a stored access token, and none of a dead family', async () => {
    const store = harness.store();
    await write({ name: 'extra fields', access_token: `'{"value":"at-good","expiresAt":1,"type":"Bearer","__proto__":{"polluted":1},"extra":"x"}'` });
    const stored = await store.get(key);
    expect(stored?.accessToken).to.deep.equal({ value: 'at-good', expiresAt: 1, type: 'Bearer' });
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    await harness.pool.query(`UPDATE ${harness.table} SET failure = '{"reason":"reauth-required"}', access_token = $2 WHERE key = $1`, [key, GOOD_TOKEN]);
    const dead = await store.get(key);
    expect(dead?.failure).to.deep.equal({ reason: 'reauth-required' });
    expect(dead?.accessToken).to.equal(undefined);
  });

  describe('in a table whose columns another program changed', () => {
    before(async () => {
      await harness.pool.query(`ALTER TABLE ${harness.table} ALTER COLUMN version TYPE text, ALTER COLUMN access_token TYPE text`);
    });

    for (const version of [`'abc'`, `'1.5'`, `'1e3'`, `' 3'`, `'03'`, `'0x3'`]) {
      it(`says there is no credential for version ${version}`, async () => {
        await write({ name: version, version });
        expect(await harness.store().get(key)).to.equal(undefined);
      });
    }

    it('reads a sound row, and answers a statement the types refuse with an error that holds no value', async () => {
      const store = harness.store();
      await write({ name: 'text columns', version: `'3'`, access_token: `'not json ${SECRET}'` });
      expect(await store.get(key)).to.deep.include({ refreshToken: SECRET, version: 3 });
      const error = await storeFailure(store.put(key, { refreshToken: `${SECRET}-2` }));
      expect(error).to.include({ step: 'put', retryable: false });
      for (const view of [String(error), inspect(error, { depth: Infinity, showHidden: true }), JSON.stringify(error)]) {
        expect(view).not.to.include(SECRET);
      }
    });
  });
});
