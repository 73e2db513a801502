import { createHash } from 'node:crypto';
import {
  checkPut,
  refreshTokenProblem,
  type CredentialExpectation,
  type CredentialFailure,
  type CredentialStore,
  type RotatedCredential,
  type StoredCredential,
} from '../credential-store.js';
import { argumentChecker, isKey, isTimerDelay, MAX_TIMER_MS } from '../options.js';
import { tokenProblem } from '../token.js';
import { Statements } from './connection.js';
import { PostgresStoreError, storeClosedError, unusableRowError, type PostgresStoreStep } from './errors.js';
import { Notifications } from './notifications.js';
import { storeSettings, type PostgresCredentialStoreOptions, type StoreSettings } from './options.js';
import { accessTokenJson, countFrom, credentialFrom, failureJson, failureProblem } from './row.js';
import * as sql from './sql.js';

/** The longest key, in UTF-8 bytes: a btree entry of PostgreSQL holds about 2,700. */
export const MAX_KEY_BYTES = 1_024;

/** A {@link CredentialStore} in a PostgreSQL table. */
export interface PostgresCredentialStore extends CredentialStore {
  /**
   * Creates the table if it does not exist (`CREATE TABLE IF NOT EXISTS`, one process at a
   * time under an advisory lock), and checks that an existing one has the store's columns.
   * Call it once at deployment or start-up: no other method creates anything.
   * @throws {PostgresStoreError} when the table cannot be made, or exists with other columns.
   */
  migrate(): Promise<void>;
  /**
   * Ends every `changed` wait and destroys the LISTEN connection; later calls reject with a
   * `PostgresStoreError`. The pool stays open: it is the caller's. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * A {@link CredentialStore} for a fleet, in one PostgreSQL table on a node-postgres pool:
 * versioned rows, saves that are compare-and-set on the version read and the lease's fence,
 * leases that are a row's fields with an expiry on the database's clock (no transaction or
 * lock is held while the holder calls the token endpoint), and `changed` by LISTEN/NOTIFY.
 *
 * @example
 * ```ts
 * const store = postgresCredentialStore({ pool: new pg.Pool({ connectionString }) });
 * await store.migrate(); // once: creates the table
 * await store.put('user-42', { refreshToken });
 * ```
 * @throws {TypeError} naming a bad option.
 */
export function postgresCredentialStore(options: PostgresCredentialStoreOptions): PostgresCredentialStore {
  return new PostgresStore(storeSettings(options));
}

const OWNER = 'postgresCredentialStore';
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

class PostgresStore implements PostgresCredentialStore {
  readonly changed?: (key: string, timeoutMs: number, signal: AbortSignal) => Promise<void>;
  readonly #settings: StoreSettings;
  readonly #statements: Statements;
  readonly #notifications: Notifications | undefined;
  #closed = false;

  constructor(settings: StoreSettings) {
    this.#settings = settings;
    this.#statements = new Statements(settings.pool, settings.timeoutMs, settings.scheduler);
    if (settings.listen) {
      const notifications = new Notifications(settings.pool, settings.name, settings.timeoutMs, settings.scheduler);
      this.#notifications = notifications;
      this.changed = (key, timeoutMs, signal) => {
        const check = argumentChecker(`${OWNER}.changed`);
        checkKey(check, key);
        check(isTimerDelay(timeoutMs), 'timeoutMs', `a number >= 0 and <= ${MAX_TIMER_MS}`);
        check(signal instanceof AbortSignal, 'signal', 'an AbortSignal');
        return notifications.wait(hashOf(key), timeoutMs, signal);
      };
    }
  }

  async migrate(): Promise<void> {
    const { table } = this.#settings;
    this.#open('migrate');
    await this.#statements.transaction('migrate', async (query) => {
      // Two CREATE TABLE IF NOT EXISTS of one name at once can fail on the catalog's unique index.
      await query('SELECT pg_advisory_xact_lock(hashtext($1))', [`rx-token-stream:${table}`]);
      await query(sql.createTable(table));
      const columns = new Set((await query(sql.tableColumns, [table])).map((row) => row.name as unknown));
      const missing = sql.COLUMNS.filter((column) => !columns.has(column));
      if (missing.length > 0) {
        throw new PostgresStoreError('migrate', `the table exists without the column(s) ${missing.join(', ')}: see docs/postgres.md`, {
          retryable: false,
        });
      }
    });
  }

  async get(key: string): Promise<StoredCredential | undefined> {
    checkKey(argumentChecker(`${OWNER}.get`), key);
    const [row] = await this.#run('get', sql.get, [key]);
    return credentialFrom(row);
  }

  async put(key: string, credential: { refreshToken: string }): Promise<number> {
    checkPut(OWNER, key, credential);
    checkKey(argumentChecker(`${OWNER}.put`), key);
    const [row] = await this.#run('put', sql.put, [key, credential.refreshToken, ...this.#announce(key)]);
    const version = countFrom(row?.version);
    if (version === undefined || version < 1) throw unusableRowError('put', 'a version');
    return version;
  }

  async lease(key: string, ttlMs: number): Promise<number | undefined> {
    const check = argumentChecker(`${OWNER}.lease`);
    checkKey(check, key);
    check(isTimerDelay(ttlMs) && ttlMs > 0, 'ttlMs', `a number > 0 and <= ${MAX_TIMER_MS}`);
    const [row] = await this.#run('lease', sql.lease, [key, ttlMs]);
    if (row === undefined) return undefined;
    const fence = countFrom(row.fence);
    if (fence === undefined || fence < 1) throw unusableRowError('lease', 'a fence');
    return fence;
  }

  async release(key: string, fence: number): Promise<void> {
    const check = argumentChecker(`${OWNER}.release`);
    checkKey(check, key);
    check(isCount(fence), 'fence', 'a non-negative safe integer');
    await this.#run('release', sql.release, [key, fence, ...this.#announce(key)]);
  }

  async save(key: string, expected: CredentialExpectation, next: RotatedCredential): Promise<boolean> {
    const check = argumentChecker(`${OWNER}.save`);
    checkKey(check, key);
    checkExpected(check, expected);
    check(typeof next === 'object' && next !== null, 'next', 'an object with `refreshToken`');
    const problem = refreshTokenProblem(next.refreshToken);
    check(problem === undefined, 'next.refreshToken', problem as string);
    const { accessToken } = next;
    const tokenIssue = accessToken === undefined ? undefined : tokenProblem(accessToken);
    check(tokenIssue === undefined, 'next.accessToken', `a token (${tokenIssue})`);
    const values = [key, expected.version, expected.fence, next.refreshToken, accessToken === undefined ? null : accessTokenJson(accessToken)];
    const [row] = await this.#run('save', sql.save, [...values, ...this.#announce(key)]);
    return row?.saved === true;
  }

  async fail(key: string, expected: CredentialExpectation, failure: CredentialFailure): Promise<boolean> {
    const check = argumentChecker(`${OWNER}.fail`);
    checkKey(check, key);
    checkExpected(check, expected);
    const problem = failureProblem(failure);
    check(problem === undefined, 'failure', problem as string);
    // A refused credential keeps its access token until it expires; a dead family's is revoked.
    const keep = failure.reason === 'refused';
    const values = [key, expected.version, expected.fence, failureJson(failure), keep];
    const [row] = await this.#run('fail', sql.fail, [...values, ...this.#announce(key)]);
    return row?.marked === true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#notifications?.close();
  }

  #open(step: PostgresStoreStep): void {
    if (this.#closed) throw storeClosedError(step);
  }

  #run(step: PostgresStoreStep, statement: (table: string) => string, values: unknown[]): Promise<Record<string, unknown>[]> {
    this.#open(step);
    return this.#statements.rows(step, statement(this.#settings.table), values);
  }

  /** The channel and payload of a change of `key`: its hash, so that no LISTENer learns keys. */
  #announce(key: string): [string, string] {
    return [this.#settings.name, hashOf(key)];
  }
}

function hashOf(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}

function checkKey(check: ReturnType<typeof argumentChecker>, key: unknown): asserts key is string {
  check(typeof key === 'string' && key.length > 0, 'key', 'a non-empty string');
  // Lone surrogates are sent as U+FFFD: two such keys would name one row.
  check(isKey(key), 'key', 'text without NUL or lone surrogates');
  check(Buffer.byteLength(key as string) <= MAX_KEY_BYTES, 'key', `at most ${MAX_KEY_BYTES} bytes in UTF-8`);
}

function checkExpected(check: ReturnType<typeof argumentChecker>, expected: unknown): asserts expected is CredentialExpectation {
  const { version, fence } = (typeof expected === 'object' && expected !== null ? expected : {}) as Record<string, unknown>;
  check(isCount(version) && isCount(fence), 'expected', 'an object with a `version` and a `fence` (non-negative safe integers)');
}
