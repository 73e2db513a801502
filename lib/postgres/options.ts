import type { Pool } from 'pg';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { checkOptionsObject, isPositiveFinite, isScheduler, MAX_TIMER_MS, optionChecker } from '../options.js';
import { escapeIdentifier } from './pg.js';

/** How a {@link postgresCredentialStore} is set up. */
export interface PostgresCredentialStoreOptions {
  /**
   * The node-postgres pool the store runs its statements on. It stays yours: the store
   * never ends it. Listen to its `error` event, as pg asks. With `listen` on, the store
   * holds one of its clients for LISTEN: its `max` must be 2 or more.
   */
  pool: Pool;
  /**
   * The table, as `name` or `schema.name`: lower-case letters, digits and `_`, starting
   * with a letter or `_`, 63 characters at most in all. It is also the LISTEN channel.
   * `store.migrate()` creates it.
   * @default 'rx_token_stream_credentials'
   */
  table?: string;
  /**
   * How long one call (a pool checkout and its statement) may take before it fails with a
   * retryable `PostgresStoreError`; also bounds `close()`.
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * Whether `changed` waits for LISTEN/NOTIFY on one connection taken from the pool for
   * the store's life. Turn it off behind a pooler in transaction mode (PgBouncer), where
   * LISTEN does not work: the store then has no `changed`, and waiters poll.
   * @default true
   */
  listen?: boolean;
  /**
   * The timer of `timeoutMs` and of `changed`'s timeout. Leases expire on the database's
   * clock, never on this one (see docs/postgres.md).
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

/** The options, checked, with their defaults, and the table quoted for SQL. */
export interface StoreSettings {
  pool: Pool;
  /** The table as written in SQL: each part quoted. */
  table: string;
  /** The table as the user named it: the NOTIFY channel and what `inspect` shows. */
  name: string;
  timeoutMs: number;
  listen: boolean;
  scheduler: SchedulerLike;
}

const PART = /^[a-z_][a-z0-9_]*$/;
const MAX_NAME = 63;

/**
 * Checks the options of {@link postgresCredentialStore}.
 * @throws {TypeError} naming the option.
 */
export function storeSettings(options: PostgresCredentialStoreOptions): StoreSettings {
  const check = optionChecker('postgresCredentialStore');
  checkOptionsObject(check, options, 'pool');
  const { pool, table = 'rx_token_stream_credentials', timeoutMs = 5_000, listen = true, scheduler = asyncScheduler } = options;
  const isPool = typeof (pool as Partial<Pool> | undefined)?.connect === 'function';
  check(isPool, 'pool', 'a pg Pool (new pg.Pool(...))');
  // A whitelist, then quoting: the name reaches SQL text, where no parameter can stand.
  const parts = typeof table === 'string' ? table.split('.') : [];
  const named = parts.length >= 1 && parts.length <= 2 && parts.every((part) => PART.test(part)) && (table as string).length <= MAX_NAME;
  check(named, 'table', `\`name\` or \`schema.name\` of lower-case letters, digits and _ (${MAX_NAME} characters at most)`);
  check(isPositiveFinite(timeoutMs) && timeoutMs <= MAX_TIMER_MS, 'timeoutMs', `a number > 0 and <= ${MAX_TIMER_MS}`);
  check(typeof listen === 'boolean', 'listen', 'a boolean');
  // The LISTEN connection is checked out for the store's life: a pool of one would have
  // none left, and every statement would wait for it until its timeout.
  const max = (pool as { options?: { max?: unknown } }).options?.max;
  check(!listen || typeof max !== 'number' || max >= 2, 'pool', 'a pool of max >= 2 while `listen` is on: LISTEN holds one client');
  check(isScheduler(scheduler), 'scheduler', 'an RxJS SchedulerLike');
  return { pool, table: parts.map((part) => escapeIdentifier(part)).join('.'), name: table, timeoutMs, listen, scheduler };
}
