import type { TokenEvent } from '../events.js';
import { diag } from './api.js';
import { keyAttributes } from './attributes.js';
import { resolveInstrumentOptions, type Instrumentable, type InstrumentOptions } from './options.js';
import { RefreshMetrics } from './refresh-metrics.js';
import { RefreshSpans } from './spans.js';
import { TimeLeft } from './time-left.js';

/**
 * Records the refreshes of a `TokenStream` or a `TokenStreams` with OpenTelemetry, from its
 * `events$` alone:
 *
 * - a `token.refresh` span per refresh (reason, attempts, outcome, `error.type`, and for a
 *   `TokenStreams` the key's hash), with a `refresh-retry` span event per retry;
 * - `token.refreshes`, a counter of the refreshes that ended, by reason and outcome;
 * - `token.refresh.duration`, a histogram of their durations, in seconds;
 * - `token.time_left`, a gauge of the time left on each held token, in seconds.
 *
 * Nothing recorded holds a token, an error's message or (unless `keyAttribute: 'raw'`) a key.
 *
 * @param tokens the stream (or keyed streams) to record.
 * @returns a function that stops recording: it unsubscribes, removes the gauge's callback
 * and ends a span still open as `abandoned`. Idempotent. Closing the stream stops it too.
 * @throws {TypeError} when `tokens` has no `events$`, or an option is unusable; the message names it.
 *
 * @example
 * ```ts
 * import { instrument } from 'rx-token-stream/otel'
 * const stop = instrument(tokens)          // global tracer and meter
 * // later, if the stream outlives the need:
 * stop()
 * ```
 */
export function instrument(tokens: Instrumentable, options: InstrumentOptions = {}): () => void {
  const setup = resolveInstrumentOptions(tokens, options);
  const spans = new RefreshSpans(setup);
  const refreshes = new RefreshMetrics(setup);
  const timeLeft = new TimeLeft(setup);

  const record = (event: TokenEvent): void => {
    // A TokenStreams adds `key`; a lone TokenStream's events have none.
    const key = (event as { key?: unknown }).key;
    const keyed = typeof key === 'string' ? key : undefined;
    switch (event.type) {
      case 'refresh-start':
        spans.start(keyed, event, keyAttributes(keyed, setup.keyAttribute));
        timeLeft.started(keyed, event);
        return;
      case 'refresh-retry':
        return spans.retry(keyed, event);
      case 'source':
        return spans.report(keyed, event);
      case 'refresh-success':
        spans.succeeded(keyed, event);
        refreshes.record(event);
        timeLeft.succeeded(keyed, event, keyAttributes(keyed, setup.keyAttribute));
        return;
      case 'refresh-failure':
        spans.failed(keyed, event);
        refreshes.record(event);
        return;
      case 'closed':
        // One stream closed (a TokenStreams evicted its key): what it held or ran is gone.
        spans.abandon(keyed);
        timeLeft.drop(keyed);
        return;
      case 'invalidate-ignored':
        return;
    }
  };
  // The stream (or every key's, for a TokenStreams) closed: nothing is held or running now.
  const closed = (): void => {
    timeLeft.clear();
    spans.abandonAll();
  };
  const subscription = tokens.events$.subscribe({
    next: (event) => guarded(`a ${event.type} event`, () => record(event)),
    complete: () => guarded('the close of the stream', closed),
  });

  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    subscription.unsubscribe();
    timeLeft.stop();
    spans.abandonAll();
  };
}

/**
 * Runs `fn`, which records `what`, keeping its error from the stream. Events are published
 * from inside the stream, and RxJS rethrows a subscriber's error on a timer, where nothing
 * catches it: a span processor or a metric view that throws must cost its telemetry, never
 * the process. OpenTelemetry's own diag logger hears of it.
 */
function guarded(what: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    diag.error(`rx-token-stream/otel: recording ${what} failed`, error);
  }
}
