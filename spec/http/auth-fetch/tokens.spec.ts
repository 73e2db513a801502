import { expect } from 'chai';
import sinon from 'sinon';
import { Request as NodeFetchRequest } from 'node-fetch';
import { TokenStream, authFetch, isTokenError, type AuthFetchTokens, type Token } from 'rx-token-stream';
import { recording, reply, type RecordingServer } from './support.js';

// authFetch takes anything with getToken and invalidate, not only a TokenStream: these specs
// hold it to that contract with tokens objects that a TokenStream would never be.

describe('authFetch and its tokens', () => {
  let api: RecordingServer;
  /** Runs when the api receives a request, before it answers. */
  let onRequest: (() => void) | undefined;
  /** Authorization values the api refuses with a 401. */
  let refused: Set<string>;

  before(async () => {
    api = await recording((req, res) => {
      onRequest?.();
      reply(res, refused.has(req.headers.authorization ?? '') ? 401 : 200);
    });
  });
  after(() => api.close());
  beforeEach(() => {
    api.received.length = 0;
    onRequest = undefined;
    refused = new Set();
  });

  const authorizations = (): (string | undefined)[] => api.received.map((r) => r.headers.authorization);

  describe('a tokens object that changes and returns one token object', () => {
    it('sends the value and type the token has at each call, not those of its first call', async () => {
      const token: Token = { value: 'v0' };
      let n = 0;
      const tokens: AuthFetchTokens = {
        getToken: async () => Object.assign(token, { value: `v${++n}`, type: n === 3 ? 'DPoP' : undefined }),
        invalidate: () => undefined,
      };
      const fetch = authFetch(tokens, { origins: [api.origin] });
      for (let i = 0; i < 3; i += 1) await fetch(`${api.origin}/data`);
      expect(authorizations()).to.deep.equal(['Bearer v1', 'Bearer v2', 'DPoP v3']);
    });

    it('invalidates the value it sent, even when the object has changed since', async () => {
      const token: Token = { value: 'sent' };
      const invalidated: unknown[] = [];
      const tokens: AuthFetchTokens = {
        getToken: async () => token,
        invalidate: (rejected) => invalidated.push(typeof rejected === 'string' ? rejected : { ...rejected }),
      };
      refused.add('Bearer sent');
      // The source rotates its object while the request is on the wire.
      onRequest = () => Object.assign(token, { value: 'newer' });
      const res = await authFetch(tokens, { origins: [api.origin] })(`${api.origin}/data`);
      expect(res.status).to.equal(200);
      expect(invalidated).to.deep.equal([{ value: 'sent' }]);
      expect(authorizations()).to.deep.equal(['Bearer sent', 'Bearer newer']);
    });
  });

  describe("the caller's signal", () => {
    let tokens: TokenStream;
    let release: (token: Token) => void;
    beforeEach(() => {
      const source = sinon.stub();
      source.onFirstCall().resolves({ value: 'old' });
      source.callsFake(() => new Promise<Token>((resolve) => (release = resolve)));
      tokens = new TokenStream({ source });
    });
    afterEach(() => tokens.close());

    /** A tokens object that reports each getToken call, and hands it to `tokens`. */
    function watched(): AuthFetchTokens & { asked: Promise<void>[] } {
      const asks: (() => void)[] = [];
      const asked = Array.from({ length: 4 }, () => new Promise<void>((resolve) => asks.push(resolve)));
      let calls = 0;
      return {
        asked,
        getToken: (options) => {
          asks[calls++]?.();
          return tokens.getToken(options);
        },
        invalidate: (token) => tokens.invalidate(token),
      };
    }

    it('also governs the wait for the retry token: aborting it rejects that call only', async () => {
      refused.add('Bearer old');
      const counting = watched();
      const fetch = authFetch(counting, { origins: [api.origin] });
      const controller = new AbortController();
      const aborted = fetch(`${api.origin}/a`, { signal: controller.signal }).catch((error: unknown) => error);
      await counting.asked[1];
      const other = fetch(`${api.origin}/b`);
      controller.abort();
      release({ value: 'new' });
      const [error, res] = await Promise.all([aborted, other]);
      expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_ABORTED');
      expect(res.status).to.equal(200);
      expect(api.received.map((r) => [r.url, r.headers.authorization])).to.deep.equal([
        ['/a', 'Bearer old'],
        ['/b', 'Bearer new'],
      ]);
    });

    for (const [name, RequestClass] of [
      ['node-fetch', NodeFetchRequest],
      ['global', Request],
    ] as const) {
      it(`is read from a ${name} Request: aborting it rejects the wait for a token`, async () => {
        tokens.invalidate(await tokens.getToken());
        const controller = new AbortController();
        const request = new RequestClass(`${api.origin}/r`, { signal: controller.signal });
        const pending = authFetch(tokens, { origins: [api.origin] })(request as never).catch((error: unknown) => error);
        controller.abort();
        release({ value: 'new' });
        const error = await pending;
        expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_ABORTED');
        expect(api.received).to.deep.equal([]);
      });
    }
  });
});
