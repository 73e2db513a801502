import { expect } from 'chai';
import sinon from 'sinon';
import { defer, of, type Observable } from 'rxjs';
import { marbles } from '../support/marbles.js';
import { TokenStream, authorized, isTokenError, type AuthorizedTokens, type Token } from 'rx-token-stream';

const t1: Token = { value: 't1' };
const t2: Token = { value: 't2' };
const ok = { status: 200 };
const unauthorized = { status: 401 };

describe('authorized', () => {
  it('runs the request with the first token and passes its values on', () => {
    marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
      const source = sinon.stub().returns(cold('--a|', { a: t1 }));
      const tokens = stream({ source, retry: { count: 0 } });
      const response = cold('-r|', { r: ok });
      const request = sinon.stub().returns(response);
      expectObservable(authorized(tokens, request)).toBe('---r|', { r: ok });
      expectSubscriptions(response.subscriptions).toBe('--^-!');
      expect(source.callCount).to.equal(0);
    });
  });

  it('gives 3 concurrent pipelines rejected with the same token 1 refresh and 3 retries with the new token', () => {
    marbles(({ cold, expectObservable, expectSubscriptions, flush, stream }) => {
      const first = cold('--a|', { a: t1 });
      const second = cold('--b|', { b: t2 });
      const source = sinon.stub();
      source.onFirstCall().returns(first);
      source.onSecondCall().returns(second);
      const tokens = stream({ source, retry: { count: 0 } });
      const rejected = cold('-u|', { u: unauthorized });
      const accepted = cold('-r|', { r: ok });
      const request = sinon.stub().callsFake((token: Token) => (token.value === 't1' ? rejected : accepted));

      for (let i = 0; i < 3; i += 1) expectObservable(authorized(tokens, request)).toBe('------r|', { r: ok });
      flush();
      expect(source.callCount).to.equal(2);
      expect(source.secondCall.args[0]).to.deep.include({ reason: 'invalidated', previous: t1 });
      expectSubscriptions(first.subscriptions).toBe('^-!');
      expectSubscriptions(second.subscriptions).toBe('---^-!');
      expectSubscriptions(rejected.subscriptions).toBe(['--^!', '--^!', '--^!']);
      expectSubscriptions(accepted.subscriptions).toBe(['-----^-!', '-----^-!', '-----^-!']);
      expect(request.args.map(([token]: Token[]) => token?.value)).to.deep.equal(['t1', 't1', 't1', 't2', 't2', 't2']);
    });
  });

  it('ignores the late rejections of a token already replaced', () => {
    marbles(({ cold, expectObservable, flush, stream, events }) => {
      const source = sinon.stub();
      source.onFirstCall().returns(cold('a|', { a: t1 }));
      source.onSecondCall().returns(cold('b|', { b: t2 }));
      const tokens = stream({ source, retry: { count: 0 } });
      const quick = (token: Token): Observable<object> => (token.value === 't1' ? cold('-u|', { u: unauthorized }) : cold('-r|', { r: ok }));
      const slow = (token: Token): Observable<object> => (token.value === 't1' ? cold('----u|', { u: unauthorized }) : cold('-r|', { r: ok }));
      expectObservable(authorized(tokens, quick)).toBe('--r|', { r: ok });
      // Refused at frame 4, when t2 has been held since frame 1: no second refresh.
      expectObservable(authorized(tokens, slow)).toBe('-----r|', { r: ok });
      flush();
      expect(source.callCount).to.equal(2);
      expect(events.filter((event) => event.type === 'invalidate-ignored')).to.have.length(1);
    });
  });

  it('returns a second rejection as it is, without a third attempt', () => {
    marbles(({ cold, expectObservable, expectSubscriptions, flush, stream }) => {
      const source = sinon.stub();
      source.onFirstCall().returns(cold('a|', { a: t1 }));
      source.onSecondCall().returns(cold('b|', { b: t2 }));
      const tokens = stream({ source, retry: { count: 0 } });
      const response = cold('-u|', { u: unauthorized });
      const request = sinon.stub().returns(response);
      expectObservable(authorized(tokens, request)).toBe('--u|', { u: unauthorized });
      flush();
      expect(request.callCount).to.equal(2);
      expect(source.callCount).to.equal(2);
      expectSubscriptions(response.subscriptions).toBe(['^!', '-^-!']);
    });
  });

  it('treats an error with status 401 (RxJS ajax, HttpClient) as a rejection', () => {
    marbles(({ cold, expectObservable, flush, stream }) => {
      const source = sinon.stub();
      source.onFirstCall().returns(cold('a|', { a: t1 }));
      source.onSecondCall().returns(cold('b|', { b: t2 }));
      const tokens = stream({ source, retry: { count: 0 } });
      const ajaxError = Object.assign(new Error('ajax error'), { status: 401 });
      const request = sinon.stub().callsFake((token: Token) =>
        token.value === 't1' ? cold('-#', undefined, ajaxError) : cold('-r|', { r: ok }),
      );
      expectObservable(authorized(tokens, request)).toBe('--r|', { r: ok });
      flush();
      expect(source.callCount).to.equal(2);
    });
  });

  it('passes other errors and statuses on without a retry', () => {
    marbles(({ cold, expectObservable, flush, stream }) => {
      const tokens = stream({ source: sinon.stub().returns(cold('a|', { a: t1 })), retry: { count: 0 } });
      const forbidden = { status: 403 };
      const failure = new Error('boom');
      const request = sinon.stub();
      request.onFirstCall().returns(cold('-f|', { f: forbidden }));
      request.onSecondCall().returns(cold('-#', undefined, failure));
      expectObservable(authorized(tokens, request)).toBe('-f|', { f: forbidden });
      expectObservable(authorized(tokens, request)).toBe('-#', undefined, failure);
      flush();
      expect(request.callCount).to.equal(2);
    });
  });

  it('lets a predicate decide for other transports', () => {
    marbles(({ cold, expectObservable, flush, stream }) => {
      const source = sinon.stub();
      source.onFirstCall().returns(cold('a|', { a: t1 }));
      source.onSecondCall().returns(cold('b|', { b: t2 }));
      const tokens = stream({ source, retry: { count: 0 } });
      const unauthenticated = { code: 16 };
      const request = sinon.stub().callsFake((token: Token) =>
        token.value === 't1' ? cold('-x|', { x: unauthenticated }) : cold('-y|', { y: { code: 0 } }),
      );
      const isRejected = (outcome: unknown): boolean => (outcome as { code?: number }).code === 16;
      expectObservable(authorized(tokens, request, { isRejected })).toBe('--y|', { y: { code: 0 } });
      flush();
      expect(source.callCount).to.equal(2);
    });
  });

  it('cancels the request and the token wait on unsubscribe', () => {
    marbles(({ cold, expectObservable, expectSubscriptions, stream }) => {
      const tokenSource = cold('--a|', { a: t1 });
      const tokens = stream({ source: sinon.stub().returns(tokenSource), retry: { count: 0 } });
      const slow = cold('-----r|', { r: ok });
      expectObservable(authorized(tokens, () => slow), '----!').toBe('');
      expectSubscriptions(slow.subscriptions).toBe('--^-!');
      const waiting = cold('--r|', { r: ok });
      expectObservable(authorized(tokens, () => waiting), '-!').toBe('');
      expectSubscriptions(waiting.subscriptions).toBe([]);
    });
  });

  it('errors with the refresh failure when no token can be had', () => {
    marbles(({ cold, flush, stream }) => {
      const tokens = stream({ source: sinon.stub().returns(cold('-#', undefined, new Error('auth down'))), retry: { count: 0 } });
      const request = sinon.stub();
      let error: unknown;
      authorized(tokens, request).subscribe({ error: (caught: unknown) => (error = caught) });
      flush();
      expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_REFRESH');
      expect(request.callCount).to.equal(0);
    });
  });

  describe('with a tokens object other than a TokenStream', () => {
    it('invalidates the value the request was handed, even when the tokens object changed that object since', () => {
      const token: Token = { value: 'sent' };
      const invalidated: unknown[] = [];
      const tokens: AuthorizedTokens = {
        token$: defer(() => of(token)),
        invalidate: (rejected) => invalidated.push(typeof rejected === 'string' ? rejected : { ...rejected }),
      };
      const handed: string[] = [];
      const values: unknown[] = [];
      authorized(tokens, ({ value }) => {
        handed.push(value);
        // The source rotates its one object while this request is on the wire.
        token.value = 'newer';
        return of(value === 'sent' ? unauthorized : ok);
      }).subscribe((value) => values.push(value));
      expect(handed).to.deep.equal(['sent', 'newer']);
      expect(invalidated).to.deep.equal([{ value: 'sent' }]);
      expect(values).to.deep.equal([ok]);
    });

    it('uses the token$ and invalidate it was called with, even when they are replaced before it is subscribed to', () => {
      const invalidated: unknown[] = [];
      const tokens = { token$: of(t1), invalidate: (rejected: Token | string) => invalidated.push(rejected) };
      const result$ = authorized(tokens, (token) => of(token === t1 ? unauthorized : ok));
      Object.assign(tokens, { token$: of(t2), invalidate: () => invalidated.push('replaced') });
      const values: unknown[] = [];
      result$.subscribe((value) => values.push(value));
      expect(invalidated).to.deep.equal([{ value: 't1' }]);
      expect(values).to.deep.equal([unauthorized]);
    });
  });

  it('refuses unusable arguments with a TypeError naming them', () => {
    const tokens = new TokenStream({ source: async () => t1 });
    expect(() => authorized({} as TokenStream, () => [])).to.throw(TypeError, /`tokens`/);
    expect(() => authorized(tokens, 'x' as never)).to.throw(TypeError, /`request`/);
    expect(() => authorized(tokens, () => [], { isRejected: 1 as never })).to.throw(TypeError, /`isRejected`/);
    tokens.close();
  });

  it('is a TokenError when the stream is closed', async () => {
    const tokens = new TokenStream({ source: async () => t1 });
    tokens.close();
    const error = await new Promise((resolve) => authorized(tokens, () => [ok]).subscribe({ error: resolve }));
    expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_CLOSED');
  });
});
