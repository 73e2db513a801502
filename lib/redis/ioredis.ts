// ioredis is an optional peer dependency: a missing install must say what to do, not fail
// with Node's bare module error. A static import would fail before any code here runs,
// and a dynamic one needs a top-level await, which keeps a module from being require()d
// (and makes test runners that try require() first load it twice). ioredis is CommonJS,
// so require() loads it synchronously, as the entry is evaluated.
import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';
import { missingPeerError } from '../errors.js';

function load(): typeof IORedis {
  try {
    return createRequire(import.meta.url)('ioredis') as typeof IORedis;
  } catch (error) {
    // Only ioredis itself: a broken install of one of its own dependencies keeps its error.
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    const missing = code === 'MODULE_NOT_FOUND' && String(message).startsWith("Cannot find module 'ioredis'");
    throw missing ? missingPeerError('rx-token-stream/redis', 'ioredis', error) : error;
  }
}

/** The ioredis client class. */
export const { Redis } = load();
