import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { firstValueFrom, from, throwError, timeout, type SchedulerLike } from 'rxjs';
import { storeError, storeTimeoutError, type PostgresStoreStep } from './errors.js';

const noop = (): void => {};

/** Settles like `promise`, or rejects with `onTimeout()` after `ms` on `scheduler`. */
export function within<T>(promise: Promise<T>, ms: number, scheduler: SchedulerLike, onTimeout: () => Error): Promise<T> {
  return firstValueFrom(from(promise).pipe(timeout({ first: ms, scheduler, with: () => throwError(onTimeout) })));
}

/**
 * A client checked out of `pool` within `ms`, with a listener for its `error` event: pg
 * emits one when the connection drops, and a checked-out client has no other listener, so
 * that an outage would crash the process. A checkout that comes too late is given back
 * unused, so that a statement that timed out never runs later.
 */
export async function checkout(pool: Pool, ms: number, scheduler: SchedulerLike, step: PostgresStoreStep): Promise<PoolClient> {
  const pending = pool.connect();
  let client: PoolClient;
  try {
    client = await within(pending, ms, scheduler, () => storeTimeoutError(step, ms));
  } catch (error) {
    pending.then((late) => late.release(), noop);
    throw storeError(step, error);
  }
  client.on('error', noop);
  return client;
}

/**
 * Gives `client` back to the pool; a client whose connection may be in an unknown state (a
 * statement timed out in flight, the connection dropped) is destroyed instead.
 */
export function giveBack(client: PoolClient, broken: boolean): void {
  client.removeListener('error', noop);
  client.release(broken);
}

/**
 * Runs single statements on a pool, each bounded by `timeoutMs`: a pool that is full or a
 * server that does not answer costs a retryable error, never a hang.
 */
export class Statements {
  readonly #pool: Pool;
  readonly #timeoutMs: number;
  readonly #scheduler: SchedulerLike;

  constructor(pool: Pool, timeoutMs: number, scheduler: SchedulerLike) {
    this.#pool = pool;
    this.#timeoutMs = timeoutMs;
    this.#scheduler = scheduler;
  }

  /**
   * The rows of `text` run with `values`.
   * @throws {PostgresStoreError} for `step`, built from what failed, never carrying pg's error.
   */
  async rows<R extends QueryResultRow>(step: PostgresStoreStep, text: string, values: unknown[]): Promise<R[]> {
    const started = this.#scheduler.now();
    const client = await checkout(this.#pool, this.#timeoutMs, this.#scheduler, step);
    // One deadline for the checkout and the statement together.
    const left = Math.max(1, this.#timeoutMs - (this.#scheduler.now() - started));
    let broken = false;
    try {
      const result = await within(client.query<R>({ text, values }), left, this.#scheduler, () => storeTimeoutError(step, this.#timeoutMs));
      return result.rows;
    } catch (error) {
      // A statement still in flight, or a connection that failed: never back into the pool.
      broken = true;
      throw storeError(step, error);
    } finally {
      giveBack(client, broken);
    }
  }

  /** Runs `work` on one client within one transaction (for `migrate`), bounded by `timeoutMs` in all. */
  async transaction(step: PostgresStoreStep, work: (query: (text: string, values?: unknown[]) => Promise<QueryResultRow[]>) => Promise<void>): Promise<void> {
    const client = await checkout(this.#pool, this.#timeoutMs, this.#scheduler, step);
    let broken = true;
    const query = async (text: string, values: unknown[] = []): Promise<QueryResultRow[]> => (await client.query({ text, values })).rows;
    const run = async (): Promise<void> => {
      await query('BEGIN');
      try {
        await work(query);
        await query('COMMIT');
      } catch (error) {
        await query('ROLLBACK').catch(noop);
        throw error;
      }
    };
    try {
      await within(run(), this.#timeoutMs, this.#scheduler, () => storeTimeoutError(step, this.#timeoutMs));
      broken = false;
    } catch (error) {
      throw storeError(step, error);
    } finally {
      giveBack(client, broken);
    }
  }
}
