/**
 * The gauge of the time left on each held token, from the `expiresAt` of the refresh that
 * delivered it. Readings are kept per key, and only while they can be true: a key's
 * reading goes when its token is dropped (a refresh for a missing, expired or rejected
 * token starts), when that token expires, and when the stream closes.
 */
import type { Attributes, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import type { RefreshStartEvent, RefreshSuccessEvent } from '../events.js';
import { ValueType } from './api.js';
import type { InstrumentSetup } from './options.js';

/** The metric name. */
export const TIME_LEFT = 'token.time_left';

interface Reading {
  readonly expiresAt: number;
  readonly attributes: Attributes;
}

/** The time-left gauge of one {@link instrument} call, until {@link TimeLeft.stop}. */
export class TimeLeft {
  readonly #setup: InstrumentSetup;
  readonly #gauge: ObservableGauge;
  readonly #readings = new Map<string | undefined, Reading>();
  readonly #observe = (result: ObservableResult): void => this.#report(result);

  constructor(setup: InstrumentSetup) {
    this.#setup = setup;
    this.#gauge = setup.meter.createObservableGauge(TIME_LEFT, {
      description: 'Time left before the held token expires',
      unit: 's',
      valueType: ValueType.DOUBLE,
    });
    this.#gauge.addCallback(this.#observe);
  }

  /**
   * A refresh started. Only a background one leaves the held token in service; any other
   * means there is none (never fetched, rejected) or it has expired.
   */
  started(key: string | undefined, event: RefreshStartEvent): void {
    if (event.reason !== 'background') this.#readings.delete(key);
  }

  /** A refresh delivered a token: its expiry is the reading, or there is none without one. */
  succeeded(key: string | undefined, event: RefreshSuccessEvent, keyAttributes: Attributes): void {
    if (event.expiresAt === undefined) return void this.#readings.delete(key);
    this.#readings.set(key, { expiresAt: event.expiresAt, attributes: { ...this.#setup.attributes, ...keyAttributes } });
  }

  /** One stream closed (an evicted key): it holds no token any more. */
  drop(key: string | undefined): void {
    this.#readings.delete(key);
  }

  /** The stream closed: it holds no token any more. */
  clear(): void {
    this.#readings.clear();
  }

  /** Stops reporting, for good. */
  stop(): void {
    this.#gauge.removeCallback(this.#observe);
    this.#readings.clear();
  }

  /**
   * An expired reading is dropped here rather than reported below zero: an expired token is
   * never served.
   */
  #report(result: ObservableResult): void {
    const now = this.#setup.scheduler.now();
    for (const [key, { expiresAt, attributes }] of this.#readings) {
      if (expiresAt <= now) this.#readings.delete(key);
      else result.observe((expiresAt - now) / 1000, attributes);
    }
  }
}
