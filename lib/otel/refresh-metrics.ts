/**
 * The refresh counter and the refresh duration histogram. Their points carry the reason
 * and the outcome, never the key: one series per key would multiply with `maxKeys`, and a
 * key's refreshes are in its spans.
 */
import type { Counter, Histogram } from '@opentelemetry/api';
import type { RefreshFailureEvent, RefreshSuccessEvent } from '../events.js';
import { ATTR, errorType, type RefreshOutcome } from './attributes.js';
import { ValueType } from './api.js';
import type { InstrumentSetup } from './options.js';

/** The metric names. */
export const REFRESHES = 'token.refreshes';
export const REFRESH_DURATION = 'token.refresh.duration';
export const REFRESH_CALLERS = 'token.refresh.callers';

// Callers per refresh span from 0 (a background refresh) to a 401 storm of thousands.
const CALLER_BUCKETS = [0, 1, 2, 5, 10, 50, 100, 500, 1_000, 5_000, 10_000];

// OpenTelemetry's HTTP duration buckets, in seconds, up to 60 s: a refresh that retries
// with backoff takes seconds, and the SDK's default buckets are meant for milliseconds.
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];

/** Counts refreshes and records how long each took, once it ended. */
export class RefreshMetrics {
  readonly #setup: InstrumentSetup;
  readonly #count: Counter;
  readonly #duration: Histogram;
  readonly #callers: Histogram;

  constructor(setup: InstrumentSetup) {
    this.#setup = setup;
    this.#count = setup.meter.createCounter(REFRESHES, {
      description: 'Token refreshes that ended, by reason and outcome',
      unit: '{refresh}',
      valueType: ValueType.INT,
    });
    this.#duration = setup.meter.createHistogram(REFRESH_DURATION, {
      description: 'How long a token refresh took, its retries included',
      unit: 's',
      advice: { explicitBucketBoundaries: BUCKETS },
    });
    this.#callers = setup.meter.createHistogram(REFRESH_CALLERS, {
      description: 'How many callers a token refresh served: one call to the auth server for all of them',
      unit: '{caller}',
      valueType: ValueType.INT,
      advice: { explicitBucketBoundaries: CALLER_BUCKETS },
    });
  }

  /** Records one refresh that ended. `durationMs` is on the streams' scheduler. */
  record(event: RefreshSuccessEvent | RefreshFailureEvent): void {
    const outcome: RefreshOutcome = event.type === 'refresh-success' ? 'success' : 'failure';
    const attributes = {
      ...this.#setup.attributes,
      [ATTR.reason]: event.reason,
      [ATTR.outcome]: outcome,
      ...(event.type === 'refresh-failure' ? { [ATTR.errorType]: errorType(event.error) } : {}),
    };
    this.#count.add(1, attributes);
    this.#duration.record(event.durationMs / 1000, attributes);
    this.#callers.record(event.callers, attributes);
  }
}
