// The `rx-token-stream/otel` entry: OpenTelemetry spans and metrics from a stream's events.
// It is the only part of the package that loads @opentelemetry/api, so that
// `rx-token-stream` itself never does.
export { instrument } from './instrument.js';
export type { InstrumentOptions, Instrumentable, KeyAttribute } from './options.js';
