import { expect } from 'chai';
import sinon from 'sinon';
import { createHash } from 'node:crypto';
import { DiagLogLevel, ROOT_CONTEXT, SpanStatusCode, context, diag, trace, type Context, type ContextManager } from '@opentelemetry/api';
import { catchError, first, map, of, type Observable } from 'rxjs';
import { TokenStreams, isTokenError, type Token } from 'rx-token-stream';
import { instrument } from 'rx-token-stream/otel';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { answering, deferred, marbles } from '../support/marbles.js';
import { everythingRecorded, telemetry, type Telemetry } from './support.js';

/** The first token's value, or the code of the error instead. */
const valueOf = (token$: Observable<Token>): Observable<string> =>
  token$.pipe(
    first(),
    map((token) => token.value),
    catchError((error: unknown) => of(isTokenError(error) ? error.code : 'foreign')),
  );
const sha16 = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 16);

/** The smallest synchronous ContextManager: enough for context.with() around a getToken(). */
class StackContextManager implements ContextManager {
  #stack: Context[] = [];
  active = (): Context => this.#stack.at(-1) ?? ROOT_CONTEXT;
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    this.#stack.push(ctx);
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#stack.pop();
    }
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable = (): this => this;
  disable = (): this => this;
}

describe('otel: refresh spans', () => {
  let t: Telemetry;
  beforeEach(() => (t = telemetry()));
  afterEach(async () => {
    sinon.restore();
    await t.shutdown();
  });

  it('records a refresh with 2 retries as exactly 1 span with 2 refresh-retry events', () => {
    marbles(({ cold, expectObservable, stream }) => {
      const failing$ = cold<Token>('-#', {}, Object.assign(new Error('upstream said SECRET-IN-CAUSE'), { code: 'ECONNRESET' }));
      const ok$ = cold<Token>('-a', { a: { value: 'SECRET-TOKEN-A', expiresAt: 60_000 } });
      const source = answering(failing$, failing$, ok$);
      const tokens = stream({ source, retry: { count: 2, delayMs: 10, jitter: 0 } });
      instrument(tokens, { tracer: t.tracer, meter: t.meter });
      // Attempts at 0, 1+10 and 12+20; the third answers at 33.
      expectObservable(valueOf(tokens.token$)).toBe('33ms (a|)', { a: 'SECRET-TOKEN-A' });
    });
    const spans = t.spans();
    expect(spans).to.have.length(1);
    const [span] = spans;
    expect(span?.name).to.equal('token.refresh');
    expect(span?.attributes).to.deep.equal({ 'token.refresh.reason': 'initial', 'token.refresh.outcome': 'success', 'token.refresh.attempts': 3, 'token.refresh.callers': 1 });
    expect(span?.status.code).to.equal(SpanStatusCode.UNSET);
    expect(span?.events.map(({ name, attributes }) => ({ name, attributes }))).to.deep.equal([
      { name: 'refresh-retry', attributes: { 'token.refresh.attempt': 1, 'token.refresh.retry.delay_ms': 10, 'error.type': 'ECONNRESET' } },
      { name: 'refresh-retry', attributes: { 'token.refresh.attempt': 2, 'token.refresh.retry.delay_ms': 20, 'error.type': 'ECONNRESET' } },
    ]);
    expect(everythingRecorded(spans, [])).not.to.match(/SECRET/);
  });

  it('sets an error status on a failed refresh, with the error codes and never a message', () => {
    const boom = Object.assign(new Error('invalid_client for client_secret=SECRET-CLIENT'), { code: 'ERR_OAUTH', retryable: false });
    const shaped = Object.assign(new Error('SECRET in message'), { code: 'SECRET-TOKEN-AS-CODE' });
    marbles(({ cold, expectObservable, stream }) => {
      const oauth = stream({ source: () => cold<Token>('-#', {}, boom) });
      const odd = stream({ source: () => cold<Token>('-#', {}, shaped), retry: { count: 1, delayMs: 1, jitter: 0 } });
      const timeout = stream({ source: () => cold<Token>('-'), timeoutMs: 5, retry: { count: 0 } });
      for (const tokens of [oauth, odd, timeout]) instrument(tokens, { tracer: t.tracer, meter: t.meter });
      expectObservable(valueOf(oauth.token$)).toBe('-(e|)', { e: 'ERR_TOKEN_REFRESH' });
      expectObservable(valueOf(odd.token$)).toBe('---(e|)', { e: 'ERR_TOKEN_REFRESH' });
      expectObservable(valueOf(timeout.token$)).toBe('5ms (t|)', { t: 'ERR_TOKEN_TIMEOUT' });
    });
    const spans = t.spans();
    expect(spans.map(({ status }) => status)).to.deep.equal([{ code: SpanStatusCode.ERROR }, { code: SpanStatusCode.ERROR }, { code: SpanStatusCode.ERROR }]);
    expect(spans.map(({ attributes }) => attributes)).to.deep.equal([
      { 'token.refresh.reason': 'initial', 'token.refresh.outcome': 'failure', 'token.refresh.attempts': 1, 'token.refresh.callers': 1, 'error.type': 'ERR_TOKEN_REFRESH', 'token.refresh.cause.type': 'ERR_OAUTH' },
      { 'token.refresh.reason': 'initial', 'token.refresh.outcome': 'failure', 'token.refresh.attempts': 2, 'token.refresh.callers': 1, 'error.type': 'ERR_TOKEN_REFRESH', 'token.refresh.cause.type': '_OTHER' },
      { 'token.refresh.reason': 'initial', 'token.refresh.outcome': 'failure', 'token.refresh.attempts': 1, 'token.refresh.callers': 1, 'error.type': 'ERR_TOKEN_TIMEOUT' },
    ]);
    expect(spans[1]?.events[0]?.attributes?.['error.type']).to.equal('_OTHER');
    expect(everythingRecorded(spans, [])).not.to.match(/SECRET|invalid_client|message/);
  });

  it('names each key of a TokenStreams by a hash of it, and by the key only when asked', () => {
    const run = (keyAttribute?: 'hash' | 'raw' | 'none'): Record<string, unknown>[] => {
      const local = telemetry();
      marbles(({ cold, expectObservable, scheduler }) => {
        const streams = new TokenStreams({ scheduler, source: ({ key }) => cold<Token>(key === 'tenant-a' ? '-a' : '--b', { a: { value: 'SECRET-A' }, b: { value: 'SECRET-B' } }) });
        instrument(streams, { tracer: local.tracer, meter: local.meter, ...(keyAttribute === undefined ? {} : { keyAttribute }) });
        // Two keys refresh at once: each span must get its own key's outcome.
        expectObservable(valueOf(streams.token$('tenant-a'))).toBe('-(a|)', { a: 'SECRET-A' });
        expectObservable(valueOf(streams.token$('tenant-b'))).toBe('--(b|)', { b: 'SECRET-B' });
        scheduler.schedule(() => streams.close(), 5);
      });
      const spans = local.spans();
      expect(everythingRecorded(spans, [])).not.to.match(/SECRET/);
      if (keyAttribute !== 'raw') expect(everythingRecorded(spans, [])).not.to.match(/tenant/);
      return spans.map(({ attributes }) => attributes);
    };
    const outcome = { 'token.refresh.reason': 'initial', 'token.refresh.outcome': 'success', 'token.refresh.attempts': 1, 'token.refresh.callers': 1 };
    expect(run()).to.deep.equal([
      { ...outcome, 'token.key.hash': sha16('tenant-a') },
      { ...outcome, 'token.key.hash': sha16('tenant-b') },
    ]);
    expect(run('raw')).to.deep.equal([
      { ...outcome, 'token.key': 'tenant-a' },
      { ...outcome, 'token.key': 'tenant-b' },
    ]);
    expect(run('none')).to.deep.equal([outcome, outcome]);
  });

  it('records what a source reports by its kind only (a short name, or _OTHER), and adds the caller-given attributes', () => {
    marbles(({ cold, expectObservable, stream }) => {
      const tokens = stream({
        source: ({ report }) => {
          report({ kind: 'redis-fallback', detail: 'SECRET-DETAIL' });
          report({ kind: 'fallback after SECRET-ECHO' });
          return cold<Token>('-a', { a: { value: 'SECRET-A' } });
        },
      });
      instrument(tokens, { tracer: t.tracer, meter: t.meter, attributes: { 'token.stream': 'orders' } });
      expectObservable(valueOf(tokens.token$)).toBe('-(a|)', { a: 'SECRET-A' });
    });
    const [span] = t.spans();
    expect(span?.attributes['token.stream']).to.equal('orders');
    expect(span?.events.map(({ name, attributes }) => ({ name, attributes }))).to.deep.equal([
      { name: 'source-report', attributes: { 'token.source.report': 'redis-fallback' } },
      { name: 'source-report', attributes: { 'token.source.report': '_OTHER' } },
    ]);
    expect(everythingRecorded(t.spans(), [])).not.to.match(/SECRET/);
  });

  it('ends a span still open as abandoned when the stream closes or the instrumentation stops', () => {
    const closing = new TokenStreams({ source: () => deferred<Token>().promise });
    const stopping = new TokenStreams({ source: () => deferred<Token>().promise });
    instrument(closing, { tracer: t.tracer, meter: t.meter, keyAttribute: 'none' });
    const stop = instrument(stopping, { tracer: t.tracer, meter: t.meter, keyAttribute: 'none' });
    closing.getToken('k').catch(() => undefined);
    stopping.getToken('k').catch(() => undefined);
    expect(t.spans()).to.have.length(0);
    closing.close();
    stop();
    expect(t.spans().map(({ attributes }) => attributes['token.refresh.outcome'])).to.deep.equal(['abandoned', 'abandoned']);
    stopping.close();
  });

  it('keeps a throwing span processor from the stream, and tells the diag logger', () => {
    const logged: unknown[][] = [];
    diag.setLogger({ error: (...args) => logged.push(args), warn() {}, info() {}, debug() {}, verbose() {} }, DiagLogLevel.ERROR);
    const broken = new BasicTracerProvider({
      spanProcessors: [{ onStart: () => { throw new Error('processor bug'); }, onEnd() {}, forceFlush: async () => {}, shutdown: async () => {} }],
    });
    try {
      marbles(({ cold, expectObservable, stream }) => {
        const tokens = stream({ source: () => cold<Token>('-a', { a: { value: 'A' } }) });
        instrument(tokens, { tracer: broken.getTracer('spec'), meter: t.meter });
        expectObservable(valueOf(tokens.token$)).toBe('-(a|)', { a: 'A' });
      });
      expect(logged.map(([message]) => message)).to.deep.equal(['rx-token-stream/otel: recording a refresh-start event failed']);
    } finally {
      diag.disable();
    }
  });

  it('makes the span a child of the context active when the refresh starts', () => {
    const manager = new StackContextManager();
    context.setGlobalContextManager(manager);
    try {
      marbles(({ cold, stream }) => {
        const tokens = stream({ source: () => cold<Token>('-a', { a: { value: 'A' } }) });
        instrument(tokens, { tracer: t.tracer, meter: t.meter });
        const request = t.tracer.startSpan('GET /orders');
        context.with(trace.setSpan(context.active(), request), () => void tokens.getToken());
        request.end();
      });
      const [refresh, request] = [t.spans().find((s) => s.name === 'token.refresh'), t.spans().find((s) => s.name === 'GET /orders')];
      expect(refresh?.parentSpanContext?.spanId).to.equal(request?.spanContext().spanId);
    } finally {
      context.disable();
    }
  });
});
