// @opentelemetry/api, the optional peer of rx-token-stream/otel, loaded by this entry only (see
// ../peer.ts). Node resolves the API's CommonJS build for import and require alike, and the API
// keeps its global providers under a registered symbol, so the application's copy and this one agree.
import type * as Api from '@opentelemetry/api';
import { requirePeer } from '../peer.js';

/** The OpenTelemetry API, as the application installed it. */
export const { trace, metrics, diag, SpanStatusCode, ValueType } = requirePeer<typeof Api>('rx-token-stream/otel', '@opentelemetry/api');
