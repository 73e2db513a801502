/**
 * What the instrumentation writes into spans and metric points: the attribute names, the
 * key's attribute, and an error's type. Nothing here ever reads a token, and an error is
 * reduced to a code in a fixed shape, never its message (a source's message may hold what
 * its server echoed).
 */
import { createHash } from 'node:crypto';
import type { Attributes } from '@opentelemetry/api';
import type { KeyAttribute } from './options.js';

/** The attribute names, in one place so that specs and dashboards agree with the code. */
export const ATTR = {
  reason: 'token.refresh.reason',
  outcome: 'token.refresh.outcome',
  attempts: 'token.refresh.attempts',
  callers: 'token.refresh.callers',
  attempt: 'token.refresh.attempt',
  retryDelayMs: 'token.refresh.retry.delay_ms',
  causeType: 'token.refresh.cause.type',
  sourceReport: 'token.source.report',
  errorType: 'error.type',
  keyHash: 'token.key.hash',
  key: 'token.key',
} as const;

/**
 * How a refresh ended: `abandoned` when it was still running as the stream closed or the
 * instrumentation stopped (no outcome was seen).
 */
export type RefreshOutcome = 'success' | 'failure' | 'abandoned';

/** The attributes naming `key` as `keyAttribute` says; none for a lone stream's events. */
export function keyAttributes(key: string | undefined, keyAttribute: KeyAttribute): Attributes {
  if (key === undefined || keyAttribute === 'none') return {};
  if (keyAttribute === 'raw') return { [ATTR.key]: key };
  // 64 bits: enough to tell any realistic number of keys apart.
  return { [ATTR.keyHash]: createHash('sha256').update(key).digest('hex').slice(0, 16) };
}

// The codes worth recording: this library's (`ERR_TOKEN_REFRESH`, `ERR_OAUTH`), Node's and
// undici's (`ERR_...`, `UND_ERR_...`) and the system's (`ECONNREFUSED`). A `code` of any other
// shape may be anything a source put there, so it is not written out.
const CODE = /^(?:(?:ERR|UND_ERR)_[A-Z0-9_]{1,48}|E[A-Z]{2,20})$/;

// A source report's `kind` is meant to be a short stable name (`redis-fallback`); one of any
// other shape is not written out, for the same reason as an odd `code`.
const KIND = /^[a-z][a-z0-9.-]{0,63}$/;

/** The `kind` of a source report, or `_OTHER` when it is not a short lower-case name. */
export function reportKind(kind: unknown): string {
  return typeof kind === 'string' && KIND.test(kind) ? kind : '_OTHER';
}

/**
 * The `error.type` of `error`: its `code` when it has one of a known shape, `_OTHER`
 * otherwise (OpenTelemetry's own fallback value for `error.type`).
 */
export function errorType(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CODE.test(code) ? code : '_OTHER';
}
