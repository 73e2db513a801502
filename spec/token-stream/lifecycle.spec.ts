import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { asyncScheduler, firstValueFrom } from 'rxjs';
import { TokenStream, isTokenError, type Token, type TokenEvent, type TokenSourceContext } from 'rx-token-stream';
import { mochaHooks } from '../support/hooks.js';
import { deferred, settle } from '../support/marbles.js';

const A: Token = { value: 'A' };

/** A source that stays pending until the test settles it, recording its contexts. */
function controlled(): { source: (context: TokenSourceContext) => Promise<Token>; contexts: TokenSourceContext[]; pending: ReturnType<typeof deferred<Token>>[] } {
  const contexts: TokenSourceContext[] = [];
  const pending: ReturnType<typeof deferred<Token>>[] = [];
  return {
    contexts,
    pending,
    source: (context) => {
      contexts.push(context);
      const next = deferred<Token>();
      pending.push(next);
      return next.promise;
    },
  };
}

const codeOf = (error: unknown): string => (isTokenError(error) ? error.code : 'foreign');

describe('TokenStream lifecycle', () => {
  describe('9. getToken({ signal })', () => {
    it('rejects only the aborted waiter; the shared refresh goes on for the others', async () => {
      const { source, contexts, pending } = controlled();
      const tokens = new TokenStream({ source });
      const controller = new AbortController();
      const reason = new Error('client went away');
      const aborted = tokens.getToken({ signal: controller.signal });
      const others = [tokens.getToken(), tokens.getToken({ signal: new AbortController().signal })];
      controller.abort(reason);
      const error: unknown = await aborted.catch((e: unknown) => e);
      expect(codeOf(error)).to.equal('ERR_TOKEN_ABORTED');
      expect((error as Error).cause).to.equal(reason);
      expect(contexts[0]?.signal.aborted).to.equal(false);
      pending[0]?.resolve(A);
      expect(await Promise.all(others)).to.deep.equal([A, A]);
      expect(contexts).to.have.length(1);
      tokens.close();
    });

    it('rejects at once, with no source call, when the signal is already aborted', async () => {
      const { source, contexts } = controlled();
      const tokens = new TokenStream({ source });
      const error: unknown = await tokens.getToken({ signal: AbortSignal.abort() }).catch((e: unknown) => e);
      expect(codeOf(error)).to.equal('ERR_TOKEN_ABORTED');
      expect(contexts).to.have.length(0);
      tokens.close();
    });

    it('leaves no abort listener on a long-lived signal once the call settled, whichever way', async () => {
      const { source, pending } = controlled();
      const tokens = new TokenStream({ source, retry: { count: 0 } });
      const signal = new AbortController().signal;
      const served = [tokens.getToken({ signal }), tokens.getToken({ signal })];
      expect(getEventListeners(signal, 'abort')).to.have.length(2);
      pending[0]?.resolve({ value: 'A', expiresAt: Date.now() + 60_000 });
      await Promise.all(served);
      expect(getEventListeners(signal, 'abort')).to.have.length(0);
      tokens.invalidate('A');
      const failed = tokens.getToken({ signal }).catch(codeOf);
      pending[1]?.reject(new Error('down'));
      expect(await failed).to.equal('ERR_TOKEN_REFRESH');
      expect(getEventListeners(signal, 'abort')).to.have.length(0);
      tokens.close();
    });

    it('ignores an abort after the token arrived', async () => {
      const { source, pending } = controlled();
      const tokens = new TokenStream({ source });
      const controller = new AbortController();
      const waiting = tokens.getToken({ signal: controller.signal });
      pending[0]?.resolve(A);
      expect(await waiting).to.deep.equal(A);
      controller.abort();
      tokens.close();
    });
  });

  describe('10. close()', () => {
    it('aborts the running source call and rejects pending and later getToken() calls', async () => {
      const { source, contexts } = controlled();
      const tokens = new TokenStream({ source });
      const pendingCalls = [tokens.getToken(), tokens.getToken({ signal: new AbortController().signal })];
      const waitingSubscriber = firstValueFrom(tokens.token$);
      tokens.close();
      const errors = await Promise.all([...pendingCalls, waitingSubscriber, tokens.getToken()].map((p) => p.catch((e: unknown) => e)));
      expect(errors.map(codeOf)).to.deep.equal(['ERR_TOKEN_CLOSED', 'ERR_TOKEN_CLOSED', 'ERR_TOKEN_CLOSED', 'ERR_TOKEN_CLOSED']);
      expect(contexts[0]?.signal.aborted).to.equal(true);
      const late: unknown = await firstValueFrom(tokens.token$).catch((e: unknown) => e);
      expect(codeOf(late)).to.equal('ERR_TOKEN_CLOSED');
    });

    it('completes token$ for subscribers that hold a token, and events$', async () => {
      const tokens = new TokenStream({ source: async () => A });
      const seen: string[] = [];
      tokens.token$.subscribe({ next: (t) => seen.push(t.value), complete: () => seen.push('token$ complete') });
      tokens.events$.subscribe({ complete: () => seen.push('events$ complete') });
      await tokens.getToken();
      tokens.close();
      tokens.close();
      expect(seen).to.deep.equal(['A', 'token$ complete', 'events$ complete']);
    });

    it('makes invalidate() a no-op after close', async () => {
      const { source, contexts, pending } = controlled();
      const tokens = new TokenStream({ source });
      const waiting = tokens.getToken();
      pending[0]?.resolve(A);
      await waiting;
      tokens.close();
      tokens.invalidate(A);
      expect(contexts).to.have.length(1);
    });

    it('drops a report() a source makes after close', async () => {
      const { source, contexts } = controlled();
      const tokens = new TokenStream({ source });
      const events: TokenEvent[] = [];
      tokens.events$.subscribe((event) => events.push(event));
      const waiting = tokens.getToken().catch(() => undefined);
      contexts[0]?.report({ kind: 'before-close' });
      tokens.close();
      contexts[0]?.report({ kind: 'after-close' });
      await waiting;
      expect(events.flatMap((e) => (e.type === 'source' ? [e.report.kind] : []))).to.deep.equal(['before-close']);
    });
  });

  describe('12. no unhandled rejections', () => {
    let unhandled: unknown[];
    const record = (reason: unknown): number => unhandled.push(reason);
    beforeEach(() => {
      unhandled = [];
      process.on('unhandledRejection', record);
    });
    afterEach(() => {
      process.off('unhandledRejection', record);
    });

    it('the spec-wide guard fails a test that leaves a rejection unhandled', async () => {
      void Promise.reject(new Error('deliberately unhandled'));
      await settle();
      // mocha re-emits the event to the other listeners, so it may arrive twice.
      expect(new Set(unhandled)).to.have.property('size', 1);
      expect(() => mochaHooks.afterEach()).to.throw(/deliberately unhandled/);
    });

    it('leaves none when a background refresh fails with nobody listening', async () => {
      let now = 0;
      let calls = 0;
      const tokens = new TokenStream({
        source: async () => {
          calls += 1;
          if (calls > 1) throw new Error('background failure');
          return { value: 'A', expiresAt: 100 };
        },
        retry: { count: 0 },
        scheduler: { now: () => now, schedule: asyncScheduler.schedule.bind(asyncScheduler) },
      });
      await tokens.getToken();
      now = 60;
      expect(await tokens.getToken()).to.deep.equal({ value: 'A', expiresAt: 100 });
      await settle();
      expect(calls).to.equal(2);
      expect(unhandled).to.deep.equal([]);
      tokens.close();
    });

    it('leaves none when refreshes fail, waiters abort and the stream closes with waiters', async () => {
      const failing = new TokenStream({ source: () => Promise.reject(new Error('down')), retry: { count: 0 } });
      const controller = new AbortController();
      const outcomes = [failing.getToken(), failing.getToken({ signal: controller.signal })];
      failing.token$.subscribe({ error: () => undefined });
      const errors = await Promise.all(outcomes.map((p) => p.catch(codeOf)));
      expect(errors).to.deep.equal(['ERR_TOKEN_REFRESH', 'ERR_TOKEN_REFRESH']);
      const { source } = controlled();
      const closing = new TokenStream({ source });
      const aborting = new AbortController();
      const waiters = [closing.getToken({ signal: aborting.signal }), closing.getToken({ signal: new AbortController().signal })];
      aborting.abort();
      closing.close();
      failing.close();
      expect(await Promise.all(waiters.map((p) => p.catch(codeOf)))).to.deep.equal(['ERR_TOKEN_ABORTED', 'ERR_TOKEN_CLOSED']);
      await settle();
      expect(unhandled).to.deep.equal([]);
    });
  });
});

describe('TokenStream events: callers and close', () => {
  it("counts the callers each refresh served: getToken() calls and waiting token$ subscribers, not the stream's own", async () => {
    let calls = 0;
    const gates: Array<(token: Token) => void> = [];
    const tokens = new TokenStream({
      source: () =>
        new Promise<Token>((resolve) => {
          calls += 1;
          gates.push(resolve);
        }),
    });
    const ended: Array<[string, number]> = [];
    tokens.events$.subscribe((event) => {
      if (event.type === 'refresh-success' || event.type === 'refresh-failure') ended.push([event.reason, event.callers]);
    });
    const waiting = [...Array.from({ length: 5 }, () => tokens.getToken()), ...Array.from({ length: 3 }, () => firstValueFrom(tokens.token$))];
    gates[0]?.({ value: 'A', expiresAt: Date.now() + 60_000 });
    await Promise.all(waiting);
    // Served from the held token: no caller of a refresh.
    await tokens.getToken();
    tokens.invalidate('A');
    const second = tokens.getToken();
    gates[1]?.({ value: 'B', expiresAt: Date.now() + 60_000 });
    await second;
    expect(calls).to.equal(2);
    expect(ended).to.deep.equal([
      ['initial', 8],
      ['invalidated', 1],
    ]);
    tokens.close();
  });

  it('ends events$ with a closed event, once', () => {
    const tokens = new TokenStream({ source: async () => A });
    const seen: string[] = [];
    tokens.events$.subscribe({ next: (event) => seen.push(event.type), complete: () => seen.push('complete') });
    tokens.close();
    tokens.close();
    expect(seen).to.deep.equal(['closed', 'complete']);
  });
});
