import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { postgresCredentialStore, type PostgresCredentialStore } from 'rx-token-stream/postgres';
import { postgresHarness } from './support.js';

// Never connected: option checks happen before any statement.
const idlePool = new pg.Pool({ connectionString: 'postgres://127.0.0.1:1/none' });

const refusal = (make: () => unknown): TypeError => {
  try {
    make();
  } catch (error) {
    expect(error).to.be.instanceOf(TypeError);
    return error as TypeError;
  }
  throw new Error('accepted');
};

const rejection = async (call: () => Promise<unknown>): Promise<TypeError> => {
  try {
    await call();
  } catch (error) {
    expect(error).to.be.instanceOf(TypeError);
    return error as TypeError;
  }
  throw new Error('accepted');
};

describe('postgresCredentialStore: options', () => {
  after(() => idlePool.end());

  it('refuses a table name that is not a plain identifier, naming the option and not the value', () => {
    for (const table of [
      'creds; DROP TABLE users; --',
      'x" OR "1"="1',
      '"quoted"',
      'a.b.c',
      'Upper',
      '1abc',
      '',
      'a.',
      '.a',
      'a b',
      'a\u0000',
      'ä',
      'a'.repeat(64),
      42,
    ]) {
      const error = refusal(() => postgresCredentialStore({ pool: idlePool, table: table as string }));
      expect(error.message, String(table)).to.match(/^postgresCredentialStore: option `table` must be `name` or `schema.name`/);
      if (typeof table === 'string' && table.length > 3) expect(error.message).not.to.include(table);
    }
  });

  it('refuses every other bad option with a TypeError naming it', () => {
    const cases: [unknown, RegExp][] = [
      [null, /option `options` must be an object with `pool`/],
      [() => {}, /option `options` must be an object, not a function/],
      [{}, /option `pool` must be a pg Pool/],
      [{ pool: 'postgres://x' }, /option `pool`/],
      [{ pool: idlePool, timeoutMs: 0 }, /option `timeoutMs` must be a number > 0/],
      [{ pool: idlePool, timeoutMs: Number.NaN }, /option `timeoutMs`/],
      [{ pool: idlePool, timeoutMs: Infinity }, /option `timeoutMs`/],
      [{ pool: idlePool, timeoutMs: 2 ** 31 }, /option `timeoutMs`/],
      [{ pool: idlePool, listen: 'yes' }, /option `listen` must be a boolean/],
      [{ pool: idlePool, scheduler: {} }, /option `scheduler` must be an RxJS SchedulerLike/],
    ];
    for (const [options, message] of cases) {
      expect(refusal(() => postgresCredentialStore(options as never)).message).to.match(message);
    }
  });

  it('refuses a pool of one client with listen on, since LISTEN would hold it and starve every statement', () => {
    const single = new pg.Pool({ connectionString: 'postgres://127.0.0.1:1/none', max: 1 });
    try {
      expect(refusal(() => postgresCredentialStore({ pool: single })).message).to.equal(
        'postgresCredentialStore: option `pool` must be a pool of max >= 2 while `listen` is on: LISTEN holds one client',
      );
      expect(postgresCredentialStore({ pool: single, listen: false }).changed).to.equal(undefined);
    } finally {
      void single.end();
    }
  });

  it('has no `changed` with listen: false, so that waiters poll', () => {
    expect(postgresCredentialStore({ pool: idlePool, listen: false }).changed).to.equal(undefined);
    expect(postgresCredentialStore({ pool: idlePool }).changed).to.be.a('function');
  });

  it('refuses bad arguments of every method with a TypeError naming the argument, never the value', async () => {
    const store = postgresCredentialStore({ pool: idlePool });
    const signal = new AbortController().signal;
    const at = { value: 'at' };
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => store.get(''), /postgresCredentialStore\.get: `key` must be a non-empty string/],
      [() => store.get(7 as never), /`key` must be a non-empty string/],
      [() => store.lease('k', 0), /postgresCredentialStore\.lease: `ttlMs` must be a number > 0/],
      [() => store.lease('k', Number.NaN), /`ttlMs`/],
      [() => store.release('k', -1), /postgresCredentialStore\.release: `fence` must be a non-negative safe integer/],
      [() => store.release('k', 1.5), /`fence`/],
      [() => store.save('k', { version: 1 } as never, { refreshToken: 'rt' }), /postgresCredentialStore\.save: `expected` must be/],
      [() => store.save('k', { version: -1, fence: 1 }, { refreshToken: 'rt' }), /`expected`/],
      [() => store.save('k', { version: 1, fence: 1 }, null as never), /`next` must be an object/],
      [() => store.save('k', { version: 1, fence: 1 }, { refreshToken: 'rt-secret\r\nX' }), /`next.refreshToken` must be printable ASCII/],
      [() => store.save('k', { version: 1, fence: 1 }, { refreshToken: 'rt', accessToken: { value: 'at-secret\n' } }), /`next.accessToken` must be a token/],
      [() => store.fail('k', { version: 1, fence: 1 }, { reason: 'other' } as never), /postgresCredentialStore\.fail: `failure` must be/],
      [() => store.fail('k', { version: 1, fence: 1 }, { reason: 'refused', error: 'x\n', client: 'c' }), /`failure`/],
      [() => (store.changed as NonNullable<PostgresCredentialStore['changed']>)('k', -1, signal), /\.changed: `timeoutMs`/],
      [() => (store.changed as NonNullable<PostgresCredentialStore['changed']>)('k', 1, {} as never), /`signal` must be an AbortSignal/],
    ];
    for (const [call, message] of cases) {
      const error = await rejection(call);
      expect(error.message).to.match(message);
      expect(error.message).not.to.include('secret');
    }
    expect(at.value).to.equal('at');
  });
});

describe('postgresCredentialStore: SQL injection', () => {
  const harness = postgresHarness();

  it('stores keys made to break out of a string literal as keys, touching no other row', async () => {
    const store = harness.store();
    const victim = `victim-${randomUUID()}`;
    await store.put(victim, { refreshToken: 'rt-victim' });
    const keys = [
      `' OR '1'='1`,
      `k'); DROP TABLE ${harness.table}; --`,
      `k' ; UPDATE ${harness.table} SET refresh_token = 'owned'; --`,
      '$1',
      '%',
      '_',
      '\\',
      '"',
      `${victim}' --`,
      `${victim} `,
      '🔑 clé',
      `k${'x'.repeat(1_020)}`,
    ];
    for (const [i, key] of keys.entries()) {
      expect(await store.get(key)).to.equal(undefined);
      expect(await store.put(key, { refreshToken: `rt-${i}` })).to.equal(1);
      const fence = (await store.lease(key, 10_000)) as number;
      expect(await store.save(key, { version: 1, fence }, { refreshToken: `rt-${i}-2` })).to.equal(true);
      expect(await store.get(key)).to.deep.include({ refreshToken: `rt-${i}-2`, version: 2 });
    }
    expect(await store.get(victim)).to.deep.include({ refreshToken: 'rt-victim', version: 1 });
    const { rows } = await harness.pool.query(`SELECT count(*)::int AS n FROM ${harness.table}`);
    expect(rows[0].n).to.equal(keys.length + 1);
  });

  it('refuses keys PostgreSQL would store as another key (lone surrogates) or not at all (NUL, too long)', async () => {
    // Why: pg sends text as UTF-8, and a lone surrogate becomes U+FFFD, so these two name one row.
    const { rows } = await harness.pool.query('SELECT $1::text = $2::text AS same', ['k\uD800', 'k\uDC00']);
    expect(rows[0].same, 'PostgreSQL sees one key').to.equal(true);
    const store = harness.store();
    for (const key of ['k\uD800', 'k\uDC00', 'k\uDC00\uD800', 'k\u0000']) {
      expect((await rejection(() => store.put(key, { refreshToken: 'rt' }))).message).to.match(/`key` must be (text|a non-empty string) without NUL or lone surrogates/);
      expect((await rejection(() => store.get(key))).message).to.match(/`key` must be text without NUL/);
    }
    expect((await rejection(() => store.lease('k'.repeat(1_025), 1_000))).message).to.match(/`key` must be at most 1024 bytes in UTF-8/);
    expect(await store.put('k\uD83D\uDD11', { refreshToken: 'rt' }), 'a surrogate pair is a character').to.equal(1);
  });

  it('works on a table named by a reserved word or in a schema, quoted', async () => {
    for (const table of ['select', `public.${harness.table}_schema`]) {
      const store = harness.store({ table });
      try {
        await store.migrate();
        expect(await store.put('k', { refreshToken: 'rt' })).to.equal(1);
        expect(await store.get('k')).to.deep.include({ refreshToken: 'rt', version: 1 });
      } finally {
        await harness.pool.query(`DROP TABLE IF EXISTS ${table === 'select' ? '"select"' : table}`);
      }
    }
  });
});
