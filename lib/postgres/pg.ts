// pg is an optional peer dependency, loaded by this entry only: a missing install must say
// what to do, not fail with Node's bare module error. As for ioredis (see lib/redis/ioredis.ts),
// require() loads the CommonJS package synchronously, so that the entry needs no top-level await.
import { createRequire } from 'node:module';
import type * as PG from 'pg';
import { missingPeerError } from '../errors.js';

function load(): typeof PG {
  try {
    return createRequire(import.meta.url)('pg') as typeof PG;
  } catch (error) {
    // Only pg itself: a broken install of one of its own dependencies keeps its error.
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    const missing = code === 'MODULE_NOT_FOUND' && String(message).startsWith("Cannot find module 'pg'");
    throw missing ? missingPeerError('rx-token-stream/postgres', 'pg', error) : error;
  }
}

/** pg's quoting of an identifier (doubles `"`), for the table name. */
export const { escapeIdentifier } = load();
