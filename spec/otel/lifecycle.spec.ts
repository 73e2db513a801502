import { expect } from 'chai';
import { metrics, trace } from '@opentelemetry/api';
import { Observable, asyncScheduler, type SchedulerLike, type Subscriber } from 'rxjs';
import { TokenStream, type Token, type TokenEvent } from 'rx-token-stream';
import { instrument } from 'rx-token-stream/otel';
import { settle } from '../support/marbles.js';
import { named, telemetry, type Telemetry } from './support.js';

const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

/** A stream whose `events$` counts its live subscribers, fed by the test. */
function countedEvents(): { tokens: { events$: Observable<TokenEvent> }; emit: (event: TokenEvent) => void; live: () => number } {
  const subscribers = new Set<Subscriber<TokenEvent>>();
  const events$ = new Observable<TokenEvent>((subscriber) => {
    subscribers.add(subscriber);
    return () => subscribers.delete(subscriber);
  });
  return {
    tokens: { events$ },
    emit: (event) => subscribers.forEach((subscriber) => subscriber.next(event)),
    live: () => subscribers.size,
  };
}

describe('otel: instrument() lifecycle and options', () => {
  let t: Telemetry;
  beforeEach(() => (t = telemetry({ delta: true })));
  afterEach(() => t.shutdown());

  it('stops for good: it unsubscribes, its gauge reports nothing more, and a second stop() does nothing', async () => {
    const { tokens, emit, live } = countedEvents();
    // The gauge's callback reads the clock: a callback left registered would keep reading it.
    let clockReads = 0;
    const scheduler: SchedulerLike = { now: () => (clockReads++, 0), schedule: asyncScheduler.schedule.bind(asyncScheduler) };
    const stop = instrument(tokens, { tracer: t.tracer, meter: t.meter, scheduler });
    expect(live()).to.equal(1);
    emit({ type: 'refresh-start', reason: 'initial', at: 0 });
    emit({ type: 'refresh-success', reason: 'initial', callers: 1, attempts: 1, durationMs: 5, expiresAt: 60_000, at: 5 });
    expect(named(await t.collect(), 'token.time_left').map(({ value }) => value)).to.deep.equal([60]);
    stop();
    stop();
    expect(live()).to.equal(0);
    emit({ type: 'refresh-start', reason: 'initial', at: 10 });
    const reads = clockReads;
    expect(named(await t.collect(), 'token.time_left')).to.deep.equal([]);
    expect(clockReads, 'the gauge callback ran after stop()').to.equal(reads);
    expect(t.spans()).to.have.length(1);
  });

  it('leaves no timer behind, around a real stream on real timers', async () => {
    const round = async (): Promise<void> => {
      const tokens = new TokenStream({ source: async (): Promise<Token> => ({ value: 'A', expiresAt: Date.now() + 3_600_000 }) });
      const stop = instrument(tokens, { tracer: t.tracer, meter: t.meter });
      await tokens.getToken();
      await t.collect();
      stop();
      tokens.close();
      // The SDK exports an ended span in the background, on timers of its own.
      await t.tracerProvider.forceFlush();
      await settle();
    };
    // A first round, so that whatever the SDK sets up once for good is there before the
    // count: what the second round leaves is what a stream and its instrumentation leave.
    await round();
    const before = timers();
    await round();
    expect(timers()).to.equal(before);
    expect(t.spans()).to.have.length(2);
  });

  it('uses the global tracer and meter, as rx-token-stream, by default', async () => {
    trace.setGlobalTracerProvider(t.tracerProvider);
    metrics.setGlobalMeterProvider(t.meterProvider);
    try {
      const tokens = new TokenStream({ source: async () => ({ value: 'A' }) });
      instrument(tokens);
      await tokens.getToken();
      tokens.close();
      expect(t.spans().map((span) => [span.name, span.instrumentationScope.name])).to.deep.equal([['token.refresh', 'rx-token-stream']]);
      const names = (await t.collect()).map(({ name }) => name);
      expect(names).to.include.members(['token.refreshes', 'token.refresh.duration']);
    } finally {
      trace.disable();
      metrics.disable();
    }
  });

  it('names the argument or option it refuses in a TypeError', () => {
    const tokens = new TokenStream({ source: async () => ({ value: 'A' }) });
    const refused = (args: unknown[]): string => {
      try {
        (instrument as (...args: unknown[]) => unknown)(...args);
      } catch (error) {
        expect(error).to.be.instanceOf(TypeError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${String(args)}`);
    };
    expect(refused([{}])).to.match(/^instrument: `tokens` must be/);
    expect(refused([tokens, () => ({})])).to.match(/^instrument: option `options` must be an object, not a function/);
    expect(refused([tokens, { tracer: {} }])).to.match(/^instrument: option `tracer` must be an OpenTelemetry Tracer/);
    expect(refused([tokens, { meter: { createCounter() {} } }])).to.match(/^instrument: option `meter` must be an OpenTelemetry Meter/);
    expect(refused([tokens, { keyAttribute: 'plain' }])).to.match(/^instrument: option `keyAttribute` must be 'hash', 'raw' or 'none'/);
    expect(refused([tokens, { attributes: { nested: { a: 1 } } }])).to.match(/^instrument: option `attributes` must be/);
    expect(refused([tokens, { attributes: ['a'] }])).to.match(/^instrument: option `attributes` must be/);
    expect(refused([tokens, { scheduler: Date }])).to.match(/^instrument: option `scheduler` must be a SchedulerLike/);
    tokens.close();
  });
});
