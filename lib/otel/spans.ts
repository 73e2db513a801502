/**
 * One `token.refresh` span per refresh, from its `refresh-start` event to its
 * `refresh-success` or `refresh-failure`, with each retry and source report as a span event.
 */
import type { Attributes, Span } from '@opentelemetry/api';
import type { RefreshFailureEvent, RefreshRetryEvent, RefreshStartEvent, RefreshSuccessEvent, SourceEvent } from '../events.js';
import { ATTR, errorType, reportKind, type RefreshOutcome } from './attributes.js';
import { SpanStatusCode } from './api.js';
import type { InstrumentSetup } from './options.js';

/** The span name of a refresh. */
export const REFRESH_SPAN = 'token.refresh';

/**
 * The open refresh spans, one per key at most (a stream runs one refresh at a time); a lone
 * stream's events have no key, and its span is held under `undefined`.
 */
export class RefreshSpans {
  readonly #setup: InstrumentSetup;
  readonly #open = new Map<string | undefined, Span>();

  constructor(setup: InstrumentSetup) {
    this.#setup = setup;
  }

  /**
   * Opens the span. Its parent is the context active as the refresh starts: the call that
   * set it off (a `getToken()`, an `invalidate()` after a 401), or none for a timer's.
   */
  start(key: string | undefined, event: RefreshStartEvent, keyAttributes: Attributes): void {
    // Not expected (one refresh per stream at a time), but a span must never be left open.
    this.#abandon(key);
    const span = this.#setup.tracer.startSpan(REFRESH_SPAN, {
      attributes: { ...this.#setup.attributes, ...keyAttributes, [ATTR.reason]: event.reason },
    });
    this.#open.set(key, span);
  }

  /** Records a failed attempt that will be tried again. */
  retry(key: string | undefined, event: RefreshRetryEvent): void {
    this.#open.get(key)?.addEvent(event.type, {
      [ATTR.attempt]: event.attempt,
      [ATTR.retryDelayMs]: event.delayMs,
      [ATTR.errorType]: errorType(event.error),
    });
  }

  /** Records what a source reported about itself (its `kind`; its free-form `detail` is left out). */
  report(key: string | undefined, event: SourceEvent): void {
    this.#open.get(key)?.addEvent('source-report', { [ATTR.sourceReport]: reportKind(event.report.kind) });
  }

  succeeded(key: string | undefined, event: RefreshSuccessEvent): void {
    this.#end(key, 'success', { [ATTR.attempts]: event.attempts, [ATTR.callers]: event.callers });
  }

  /**
   * Ends the span as an error. The status has no message: `error.type` says what failed,
   * and the error's text, or its cause's, is never copied (see `errorType`).
   */
  failed(key: string | undefined, event: RefreshFailureEvent): void {
    const span = this.#open.get(key);
    span?.setStatus({ code: SpanStatusCode.ERROR });
    this.#end(key, 'failure', {
      [ATTR.attempts]: event.attempts,
      [ATTR.callers]: event.callers,
      [ATTR.errorType]: errorType(event.error),
      // The stream's own timeout has no cause.
      ...(event.error.cause === undefined ? {} : { [ATTR.causeType]: errorType(event.error.cause) }),
    });
  }

  /** Ends every open span as `abandoned`: its stream closed, or the instrumentation stopped. */
  abandonAll(): void {
    for (const key of [...this.#open.keys()]) this.#abandon(key);
  }

  /** Ends the span of `key`, if one is open, as `abandoned`: its stream closed. */
  abandon(key: string | undefined): void {
    this.#abandon(key);
  }

  #abandon(key: string | undefined): void {
    this.#end(key, 'abandoned', {});
  }

  #end(key: string | undefined, outcome: RefreshOutcome, attributes: Attributes): void {
    const span = this.#open.get(key);
    if (span === undefined) return;
    this.#open.delete(key);
    span.setAttributes({ [ATTR.outcome]: outcome, ...attributes });
    span.end();
  }
}
