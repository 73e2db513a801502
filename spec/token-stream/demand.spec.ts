import { expect } from 'chai';
import sinon from 'sinon';
import { firstValueFrom, first } from 'rxjs';
import { TokenStream, type Token, type TokenSource } from 'rx-token-stream';
import { deferred, marbles } from '../support/marbles.js';

const A: Token = { value: 'token-A' };

describe('TokenStream demand', () => {
  describe('1. lazy', () => {
    it('makes no source call until the first demand', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
        const src = cold('-a|', { a: A });
        const source = sinon.stub().returns(src);
        const tokens = stream({ source });
        expect(source.callCount).to.equal(0);
        expectObservable(tokens.token$.pipe(first()), '10ms ^').toBe('11ms (a|)', { a: A });
        expectSubscriptions(src.subscriptions).toBe('10ms ^!');
      });
    });

    it('makes no source call for a stream that is only built, watched and closed', () => {
      const source = sinon.stub<Parameters<TokenSource>, ReturnType<TokenSource>>();
      const tokens = new TokenStream({ source });
      const events: unknown[] = [];
      tokens.events$.subscribe((event) => events.push(event));
      tokens.close();
      expect(source.callCount).to.equal(0);
      expect(events.map((event) => (event as { type: string }).type)).to.deep.equal(['closed']);
    });
  });

  describe('2. single flight', () => {
    it('subscribes to the source once for many concurrent token$ subscribers', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
        const src = cold('---a|', { a: A });
        const source = sinon.stub().returns(src);
        const tokens = stream({ source });
        expectObservable(tokens.token$.pipe(first()), '^').toBe('---(a|)', { a: A });
        expectObservable(tokens.token$.pipe(first()), '-^').toBe('---(a|)', { a: A });
        expectObservable(tokens.token$, '--^').toBe('---a', { a: A });
        expectSubscriptions(src.subscriptions).toBe('^--!');
      });
    });

    it('coalesces 10,000 concurrent demands (getToken and token$ mixed) into one source call', async () => {
      const pending = deferred<Token>();
      const source = sinon.stub<Parameters<TokenSource>, ReturnType<TokenSource>>().returns(pending.promise);
      const tokens = new TokenStream({ source });
      const demands = Array.from({ length: 10_000 }, (_, i) =>
        i % 2 === 0 ? tokens.getToken() : firstValueFrom(tokens.token$),
      );
      expect(source.callCount).to.equal(1);
      pending.resolve(A);
      const all = await Promise.all(demands);
      expect(source.callCount).to.equal(1);
      expect(all).to.have.length(10_000);
      expect(all.every((token) => token === all[0])).to.equal(true);
      expect(all[0]).to.deep.equal(A);
      tokens.close();
    });

    it('shares one source call between waiters with and without an abort signal', async () => {
      const pending = deferred<Token>();
      const source = sinon.stub<Parameters<TokenSource>, ReturnType<TokenSource>>().returns(pending.promise);
      const tokens = new TokenStream({ source });
      const controller = new AbortController();
      const both = Promise.all([tokens.getToken(), tokens.getToken({ signal: controller.signal })]);
      pending.resolve(A);
      const [plain, signalled] = await both;
      expect(source.callCount).to.equal(1);
      expect(plain).to.equal(signalled);
      tokens.close();
    });

    it('starts a new shared wait once the previous one settled, even with a synchronous source', async () => {
      let calls = 0;
      const tokens = new TokenStream({ source: () => [{ value: `sync-${++calls}` }] });
      const first1 = await tokens.getToken();
      tokens.invalidate(first1);
      const second = await tokens.getToken();
      expect([first1.value, second.value, calls]).to.deep.equal(['sync-1', 'sync-2', 2]);
      tokens.close();
    });
  });

  describe('3. fresh token served at once', () => {
    it('emits a held fresh token synchronously on subscribe, with no source call', async () => {
      const source = sinon.stub<Parameters<TokenSource>, ReturnType<TokenSource>>().resolves(A);
      const tokens = new TokenStream({ source });
      await tokens.getToken();
      let received: Token | undefined;
      tokens.token$.pipe(first()).subscribe((token) => (received = token));
      expect(received).to.deep.equal(A);
      expect(source.callCount).to.equal(1);
      tokens.close();
    });

    it('serves a held fresh token at the frame of the demand, without a second subscription', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
        const src = cold('--a|', { a: { value: 'A', expiresAt: 1_000_000 } });
        const tokens = stream({ source: () => src });
        expectObservable(tokens.token$.pipe(first()), '^').toBe('--(a|)', { a: { value: 'A', expiresAt: 1_000_000 } });
        expectObservable(tokens.token$.pipe(first()), '500ms ^').toBe('500ms (a|)', { a: { value: 'A', expiresAt: 1_000_000 } });
        expectSubscriptions(src.subscriptions).toBe('^-!');
      });
    });

    it('resolves getToken() from the held token without calling the source', async () => {
      const source = sinon.stub<Parameters<TokenSource>, ReturnType<TokenSource>>().resolves(A);
      const tokens = new TokenStream({ source });
      const first1 = await tokens.getToken();
      const again = await Promise.all([tokens.getToken(), tokens.getToken()]);
      expect(again).to.deep.equal([first1, first1]);
      expect(source.callCount).to.equal(1);
      tokens.close();
    });
  });
});
