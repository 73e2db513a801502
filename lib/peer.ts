// The optional peer dependency of one entry (ioredis, pg, @opentelemetry/api), loaded by that
// entry only: a missing install must say what to do, not fail with Node's bare module error.
// require() rather than a static import (which would fail before any code here runs) or a
// top-level await (which keeps a module from being require()d, and makes test runners that
// try require() first load it twice). Each of these peers is CommonJS, or has a CommonJS
// build that Node resolves for import and require alike.
import { createRequire } from 'node:module';
import { missingPeerError } from './errors.js';

const require = createRequire(import.meta.url);

/**
 * Loads `peer` for `entry` (`'rx-token-stream/redis'`).
 * @throws the missing-peer error that says `npm install <peer>` when the peer itself is not
 * installed; a broken install of one of its own dependencies keeps its own error.
 */
export function requirePeer<T>(entry: string, peer: string): T {
  try {
    return require(peer) as T;
  } catch (error) {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    const missing = code === 'MODULE_NOT_FOUND' && String(message).startsWith(`Cannot find module '${peer}'`);
    throw missing ? missingPeerError(entry, peer, error) : error;
  }
}
