import { Readable } from 'node:stream';
import { expect } from 'chai';
import { Agent, fetch as undiciFetch, interceptors, request, type Dispatcher } from 'undici';
import { TokenError, TokenStream, type GetTokenOptions, type Token } from 'rx-token-stream';
import { authInterceptor } from 'rx-token-stream/undici';
import { listen } from '../support/loopback.js';
import { apiServer, specTokens, tokenAt, type ApiServer, type SpecTokens } from './support.js';

describe('authInterceptor (undici)', () => {
  let api: ApiServer;
  let other: ApiServer;
  let spec: SpecTokens;
  let agent: Agent;
  const bearer = (n: number): string => `Bearer ${spec.value(n)}`;
  /** A chain api → other → api, whose last hop is on the allowed origin again. */
  const outAndBack = () => `${api.origin}/redirect?id=out&to=${encodeURIComponent(`${other.origin}/redirect?id=via&to=${encodeURIComponent(`${api.origin}/?id=back`)}`)}`;

  beforeEach(async () => {
    [api, other] = await Promise.all([apiServer(), apiServer()]);
    spec = specTokens();
    agent = new Agent();
  });
  afterEach(async () => {
    spec.tokens.close();
    await agent.close();
    await Promise.all([api.close(), other.close()]);
  });

  for (const [name, fetch] of [
    ["undici's fetch", undiciFetch as unknown as typeof globalThis.fetch],
    ["Node's global fetch (its own bundled undici)", globalThis.fetch],
  ] as const) {
    describe(`with ${name} given { dispatcher }`, () => {
      it('sends the token, and retries a request without a body once with the next token', async () => {
        const dispatcher = agent.compose(authInterceptor(spec.tokens, { origins: [api.origin] }));
        await spec.tokens.getToken();
        api.accepted.add(spec.value(2));
        const response = await fetch(`${api.origin}/?id=get`, { dispatcher } as never);
        expect([response.status, await response.text()]).to.deep.equal([200, 'ok get']);
        expect(tokenAt(api)).to.deep.equal([['get', bearer(1)], ['get', bearer(2)]]);
      });

      it('sends every body once: fetch hands the dispatcher a stream, even for a string', async () => {
        const dispatcher = agent.compose(authInterceptor(spec.tokens, { origins: [api.origin] }));
        await spec.tokens.getToken();
        api.accepted.add(spec.value(2));
        const response = await fetch(`${api.origin}/?id=post`, { method: 'POST', body: 'a=1', dispatcher } as never);
        expect(response.status).to.equal(401);
        expect(api.seen.map((s) => s.body)).to.deep.equal(['a=1']);
        // The token it sent was invalidated all the same.
        expect((await fetch(`${api.origin}/?id=next`, { dispatcher } as never)).status).to.equal(200);
      });

      it('gives the token to each redirect hop whose own origin is allowed: fetch follows redirects above the dispatcher', async () => {
        const dispatcher = agent.compose(authInterceptor(spec.tokens, { origins: [api.origin] }));
        api.accepted.add(spec.value(1));
        expect((await fetch(outAndBack(), { dispatcher } as never)).status).to.equal(200);
        expect(tokenAt(other)).to.deep.equal([['via', undefined]]);
        expect(tokenAt(api)).to.deep.equal([['out', bearer(1)], ['back', bearer(1)]]);
      });

      it("ends the wait for a token when the caller aborts, and only that call", async () => {
        let release!: () => void;
        spec.source.onFirstCall().callsFake(() => new Promise((resolve) => (release = () => resolve({ value: spec.value(1) }))));
        const dispatcher = agent.compose(authInterceptor(spec.tokens, { origins: [api.origin] }));
        api.accepted.add(spec.value(1));
        const controller = new AbortController();
        const aborted = fetch(`${api.origin}/?id=a`, { dispatcher, signal: controller.signal } as never).catch((e: unknown) => e);
        const other = fetch(`${api.origin}/?id=b`, { dispatcher } as never);
        controller.abort();
        expect((await aborted as Error).name).to.equal('AbortError');
        release();
        expect((await other).status).to.equal(200);
        expect(api.seen.map((s) => s.id)).to.deep.equal(['b']);
      });
    });
  }

  describe("with undici's redirect interceptor", () => {
    for (const [order, compose] of [
      ['composed before it (the interceptor sees the whole chain)', (auth: ReturnType<typeof authInterceptor>) => agent.compose(interceptors.redirect({ maxRedirections: 5 }), auth)],
      ['composed after it (the interceptor sees each hop)', (auth: ReturnType<typeof authInterceptor>) => agent.compose(auth, interceptors.redirect({ maxRedirections: 5 }))],
    ] as const) {
      it(`keeps the token off a chain once it has left its first origin, ${order}`, async () => {
        const dispatcher = compose(authInterceptor(spec.tokens, { origins: [api.origin, other.origin] }));
        api.accepted.add(spec.value(1));
        await request(outAndBack(), { dispatcher }).then((r) => r.body.text());
        const same = `${api.origin}/redirect?id=hop&status=307&to=${encodeURIComponent(`${api.origin}/?id=stay`)}`;
        expect((await request(same, { dispatcher, method: 'POST', body: 'x' })).statusCode).to.equal(200);
        // `other` is allowed too, but a hop to it is a hop to another origin than the first.
        expect(tokenAt(other)).to.deep.equal([['via', undefined]]);
        expect(tokenAt(api)).to.deep.equal([['out', bearer(1)], ['back', undefined], ['hop', bearer(1)], ['stay', bearer(1)]]);
        expect(spec.source.callCount).to.equal(1);
      });
    }

    it('invalidates nothing for a 401 at the end of a chain that left the first origin', async () => {
      const dispatcher = agent.compose(interceptors.redirect({ maxRedirections: 5 }), authInterceptor(spec.tokens, { origins: [api.origin] }));
      api.accepted.add(spec.value(1));
      expect((await request(outAndBack(), { dispatcher })).statusCode).to.equal(401);
      expect(spec.source.callCount).to.equal(1);
      expect(tokenAt(api)).to.deep.equal([['out', bearer(1)], ['back', undefined]]);
    });
  });

  it("replaces the caller's Authorization in every header shape undici takes, and keeps the others", async () => {
    const dispatcher = agent.compose(authInterceptor(spec.tokens, { origins: [api.origin] }));
    api.accepted.add(spec.value(1));
    const shapes = {
      record: { Authorization: 'Basic x', 'x-a': '1' },
      flat: ['authorization', 'Basic x', 'x-a', '1', 'x-a', '2'],
      pairs: [['AUTHORIZATION', 'Basic x'], ['x-a', '1']],
      iterable: new Map([['authorization', 'Basic x'], ['x-a', '1']]),
    };
    const seen: unknown[] = [];
    const echo = await listen((req, res) => {
      seen.push([req.headers.authorization, req.headers['x-a']]);
      res.end();
    });
    const echoing = agent.compose(authInterceptor(spec.tokens, { origins: [echo.origin] }));
    for (const headers of Object.values(shapes)) await request(echo.origin, { dispatcher: echoing, headers: headers as never }).then((r) => r.body.text());
    expect(seen).to.deep.equal([
      [bearer(1), '1'],
      [bearer(1), '1, 2'],
      [bearer(1), '1'],
      [bearer(1), '1'],
    ]);
    await echo.close();
    expect((await request(`${api.origin}/?id=plain`, { dispatcher })).statusCode).to.equal(200);
  });

  it('sends the bytes a body had when the request was made, on both attempts', async () => {
    const dispatcher = agent.compose(authInterceptor(spec.tokens, { origins: [api.origin] }));
    await spec.tokens.getToken();
    api.accepted.add(spec.value(2));
    const body = Buffer.from('abc');
    const pending = request(`${api.origin}/?id=bytes`, { dispatcher, method: 'PUT', body });
    body.write('zzz');
    expect((await pending).statusCode).to.equal(200);
    expect(api.seen.map((s) => s.body)).to.deep.equal(['abc', 'abc']);
  });

  it('sends a stream body once, and hands its rejection to the caller', async () => {
    const dispatcher = agent.compose(authInterceptor(spec.tokens, { origins: [api.origin] }));
    const response = await request(`${api.origin}/?id=s`, { dispatcher, method: 'POST', body: Readable.from(['a', 'b']) });
    expect(response.statusCode).to.equal(401);
    expect(await response.body.text()).to.equal('denied');
    expect(api.seen.map((s) => [s.body, s.authorization])).to.deep.equal([['ab', bearer(1)]]);
  });

  for (const [above, compose] of [
    ['undici request', (auth: ReturnType<typeof authInterceptor>) => agent.compose(auth)],
    ["an interceptor of undici's current handler API (redirect)", (auth: ReturnType<typeof authInterceptor>) => agent.compose(auth, interceptors.redirect({ maxRedirections: 1 }))],
  ] as const) {
    it(`delivers a large answer whole after a retry, with ${above} above it reading at its own pace`, async () => {
      let attempt = 0;
      const big = Buffer.alloc(4 * 1024 * 1024, 'x');
      const server = await listen((req, res) => {
        attempt += 1;
        req.resume();
        if (attempt === 1) res.writeHead(401, { 'content-type': 'text/plain' }).end('no');
        else res.writeHead(200, { 'x-twice': ['a', 'b'] }).end(big);
      });
      const dispatcher = compose(authInterceptor(spec.tokens, { origins: [server.origin] }));
      const response = await request(server.origin, { dispatcher, highWaterMark: 1024 });
      let length = 0;
      for await (const chunk of response.body) length += (chunk as Buffer).length;
      expect([response.statusCode, response.headers['x-twice'], length, attempt]).to.deep.equal([200, ['a', 'b'], big.length, 2]);
      await server.close();
    });
  }

  it('rejects with the TokenError when no token can be had, sending nothing', async () => {
    spec.tokens.close();
    spec = specTokens({ retry: { count: 0 } });
    spec.source.rejects(new Error('source down'));
    const dispatcher = agent.compose(authInterceptor(spec.tokens, { origins: [api.origin] }));
    const error = await request(api.origin, { dispatcher }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TokenError);
    expect(api.seen).to.deep.equal([]);
  });

  it('sends the token it holds in the same turn, and none once its tokens are closed', async () => {
    const dispatcher = agent.compose(authInterceptor(spec.tokens, { origins: [api.origin] }));
    api.accepted.add(spec.value(1));
    await spec.tokens.getToken();
    expect((await request(`${api.origin}/?id=held`, { dispatcher })).statusCode).to.equal(200);
    spec.tokens.close();
    const error = await request(`${api.origin}/?id=closed`, { dispatcher }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TokenError).with.property('code', 'ERR_TOKEN_CLOSED');
    expect(tokenAt(api)).to.deep.equal([['held', bearer(1)]]);
  });

  it('asks a TokenStream subclass that overrides getToken through it, for every request', async () => {
    let asked = 0;
    class Counting extends TokenStream {
      override getToken(options?: GetTokenOptions): Promise<Token> {
        asked += 1;
        return super.getToken(options);
      }
    }
    const counting = new Counting({ source: async () => ({ value: 'counted-token', expiresAt: Date.now() + 60_000 }) });
    try {
      const dispatcher = agent.compose(authInterceptor(counting, { origins: [api.origin] }));
      api.accepted.add('counted-token');
      for (const id of ['a', 'b', 'c']) expect((await request(`${api.origin}/?id=${id}`, { dispatcher })).statusCode).to.equal(200);
      expect(asked).to.equal(3);
    } finally {
      counting.close();
    }
  });

  it('starts the background refresh of a token in its refresh window, and sends it meanwhile', async () => {
    const dispatcher = agent.compose(authInterceptor(spec.tokens, { origins: [api.origin] }));
    api.accepted.add(spec.value(1));
    await spec.tokens.getToken();
    // Into the default 60 s window before the hour's expiry.
    spec.clock.advance(3_600_000 - 30_000);
    expect((await request(`${api.origin}/?id=window`, { dispatcher })).statusCode).to.equal(200);
    expect(tokenAt(api)).to.deep.equal([['window', bearer(1)]]);
    expect(spec.source.callCount, 'the background refresh').to.equal(2);
  });

  it('copies an own __proto__ key of the options as a key, never as the prototype of its copy', async () => {
    const dispatched: Record<string, unknown>[] = [];
    // Composed first, so below the adapter: it sees what the adapter dispatches.
    const below = (dispatch: Dispatcher.Dispatch): Dispatcher.Dispatch => (opts, handler) => (dispatched.push(opts as never), dispatch(opts, handler));
    const dispatcher = agent.compose(below, authInterceptor(spec.tokens, { origins: [api.origin] }));
    api.accepted.add(spec.value(1));
    const options = { dispatcher, ...(JSON.parse('{"__proto__": {"upgrade": "websocket", "bodyTimeout": 1}}') as object) };
    const { statusCode, body } = await request(`${api.origin}/?id=proto`, options);
    expect([statusCode, await body.text()]).to.deep.equal([200, 'ok proto']);
    expect(dispatched.map((opts) => [Object.getPrototypeOf(opts) === Object.prototype, opts.upgrade, opts.bodyTimeout])).to.deep.equal([[true, undefined, undefined]]);
    expect(tokenAt(api)).to.deep.equal([['proto', bearer(1)]]);
  });

  it('leaves requests to other origins as they are, and asks for no token', async () => {
    const dispatcher = agent.compose(authInterceptor(spec.tokens, { origins: [api.origin] }));
    await request(`${other.origin}/?id=x`, { dispatcher, headers: { authorization: 'Basic mine' } }).then((r) => r.body.text());
    expect(tokenAt(other)).to.deep.equal([['x', 'Basic mine']]);
    expect(spec.source.callCount).to.equal(0);
  });
});
