// @opentelemetry/api is an optional peer dependency: a missing install must say what to do,
// not fail with Node's bare module error. As for ioredis (see ../redis/ioredis.ts), require()
// rather than a static import (which would fail before any code here runs) or a top-level
// await (which keeps a module from being require()d). Node resolves the API's `default`
// export, its CommonJS build, for import and require alike, and the API keeps its global
// providers under a registered symbol, so the application's copy and this one agree.
import { createRequire } from 'node:module';
import type * as Api from '@opentelemetry/api';
import { missingPeerError } from '../errors.js';

const PEER = '@opentelemetry/api';

function load(): typeof Api {
  try {
    return createRequire(import.meta.url)(PEER) as typeof Api;
  } catch (error) {
    // Only the API itself: a broken install of something it loads keeps its own error.
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    const missing = code === 'MODULE_NOT_FOUND' && String(message).startsWith(`Cannot find module '${PEER}'`);
    throw missing ? missingPeerError('rx-token-stream/otel', PEER, error) : error;
  }
}

/** The OpenTelemetry API, as the application installed it. */
export const { trace, metrics, diag, SpanStatusCode, ValueType } = load();
