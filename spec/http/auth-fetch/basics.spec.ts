import { expect } from 'chai';
import { Request as NodeFetchRequest } from 'node-fetch';
import { TokenStream, authFetch, isTokenError, type Token } from 'rx-token-stream';
import { authFetchHarness, reply, type RecordingServer } from './support.js';

describe('authFetch basics', () => {
  /** The status and headers the api answers with, by path. */
  const answers: Record<string, [number, Record<string, string>?]> = {
    '/forbidden': [403],
    '/invalid-403': [403, { 'www-authenticate': 'Bearer realm="api", error="invalid_token", error_description="expired"' }],
    '/scope': [403, { 'www-authenticate': 'Bearer error="insufficient_scope"' }],
    '/other-scheme': [400, { 'www-authenticate': 'Bearer realm="x", Basic error="invalid_token"' }],
  };

  const harness = authFetchHarness({
    api: (req, res) => {
      const path = req.url.split('?')[0] ?? '';
      if (path === '/rotating') reply(res, req.headers.authorization === 'Bearer t1' ? 401 : 200);
      else reply(res, ...(answers[path] ?? [200]));
    },
  });

  const authorizations = (server: RecordingServer): (string | undefined)[] => server.received.map((r) => r.headers.authorization);

  it('sends Authorization with the token type and value', async () => {
    harness.source.callsFake(async () => ({ value: 'abc', type: 'DPoP' }));
    const res = await authFetch(harness.tokens, { origins: [harness.api.origin] })(`${harness.api.origin}/data`);
    expect(res.status).to.equal(200);
    expect(authorizations(harness.api)).to.deep.equal(['DPoP abc']);
  });

  it('sends requests to other origins untouched, without a token and without a source call', async () => {
    const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
    const res = await fetch(`${harness.foreign.origin}/data`, { headers: { authorization: 'Basic mine' } });
    expect(res.status).to.equal(200);
    expect(authorizations(harness.foreign)).to.deep.equal(['Basic mine']);
    expect(harness.source.callCount).to.equal(0);
  });

  for (const [name, impl] of [
    ['node-fetch', undefined],
    ['global fetch', globalThis.fetch],
  ] as const) {
    it(`retries a 401 once with the next token (${name})`, async () => {
      const fetch = impl === undefined ? authFetch(harness.tokens, { origins: [harness.api.origin] }) : authFetch(harness.tokens, { origins: [harness.api.origin], fetch: impl });
      const res = await fetch(`${harness.api.origin}/rotating`);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ status: 200 });
      expect(authorizations(harness.api)).to.deep.equal(['Bearer t1', 'Bearer t2']);
      expect(harness.source.callCount).to.equal(2);
    });

    it(`merges the caller's headers in any shape, and its own Authorization never wins (${name})`, async () => {
      const fetch = impl === undefined ? authFetch(harness.tokens, { origins: [harness.api.origin] }) : authFetch(harness.tokens, { origins: [harness.api.origin], fetch: impl });
      const shapes: unknown[] = [
        { Authorization: 'Basic mine', 'X-Trace': ' a ', 'x-trace': 'b', constructor: 'c' },
        new Headers([['authorization', 'Basic mine'], ['x-trace', 'a'], ['X-Trace', 'b'], ['constructor', 'c']]),
        [['AUTHORIZATION', 'Basic mine'], ['x-trace', 'a'], ['x-trace', 'b'], ['constructor', 'c']],
      ];
      for (const headers of shapes) await fetch(`${harness.api.origin}/data`, { headers } as never);
      const seen = harness.api.received.map((r) => [r.headers.authorization, r.headers['x-trace'], r.headers.constructor]);
      expect(seen).to.deep.equal(shapes.map(() => ['Bearer t1', 'a, b', 'c']));
    });

    it(`takes a header named __proto__ in any shape as a header, touching no prototype (${name})`, async () => {
      const fetch = impl === undefined ? authFetch(harness.tokens, { origins: [harness.api.origin] }) : authFetch(harness.tokens, { origins: [harness.api.origin], fetch: impl });
      const shapes: unknown[] = [
        JSON.parse('{"__proto__": {"polluted": "yes"}, "authorization": "Basic mine", "x-trace": "a"}'),
        new Headers([['__proto__', 'x'], ['authorization', 'Basic mine'], ['x-trace', 'a']]),
        [['__proto__', 'x'], ['authorization', 'Basic mine'], ['x-trace', 'a']],
      ];
      for (const headers of shapes) expect((await fetch(`${harness.api.origin}/data`, { headers } as never)).status).to.equal(200);
      expect(harness.api.received.map((r) => [r.headers.authorization, r.headers['x-trace']])).to.deep.equal(shapes.map(() => ['Bearer t1', 'a']));
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });
  }

  it('retries a 403 whose challenge says invalid_token', async () => {
    const res = await authFetch(harness.tokens, { origins: [harness.api.origin] })(`${harness.api.origin}/invalid-403`);
    expect(res.status).to.equal(403);
    expect(authorizations(harness.api)).to.deep.equal(['Bearer t1', 'Bearer t2']);
  });

  it('returns a 403, another Bearer error and another scheme’s invalid_token as they are', async () => {
    const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
    for (const path of ['/forbidden', '/scope', '/other-scheme']) await fetch(`${harness.api.origin}${path}`);
    expect(authorizations(harness.api)).to.deep.equal(['Bearer t1', 'Bearer t1', 'Bearer t1']);
    expect(harness.source.callCount).to.equal(1);
  });

  it('takes url, method, headers and body from a node-fetch Request', async () => {
    const request = new NodeFetchRequest(`${harness.api.origin}/rotating`, { method: 'PUT', body: 'x=1', headers: { 'x-trace': 'r' } });
    const res = await authFetch(harness.tokens, { origins: [harness.api.origin] })(request);
    expect(res.status).to.equal(200);
    expect(harness.api.received.map((r) => [r.method, r.body, r.headers['x-trace'], r.headers.authorization])).to.deep.equal([
      ['PUT', 'x=1', 'r', 'Bearer t1'],
      ['PUT', 'x=1', 'r', 'Bearer t2'],
    ]);
  });

  it('rejects only the aborted call while the token is awaited; the others go on', async () => {
    let release!: (token: Token) => void;
    harness.source.callsFake(() => new Promise<Token>((resolve) => (release = resolve)));
    const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
    const controller = new AbortController();
    const aborted = fetch(`${harness.api.origin}/a`, { signal: controller.signal }).catch((error: unknown) => error);
    const waiting = fetch(`${harness.api.origin}/b`);
    controller.abort();
    const error = await aborted;
    expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_ABORTED');
    release({ value: 'late' });
    expect((await waiting).status).to.equal(200);
    expect(harness.api.received.map((r) => [r.url, r.headers.authorization])).to.deep.equal([['/b', 'Bearer late']]);
    expect(harness.source.callCount).to.equal(1);
  });

  describe('options', () => {
    it('refuses a missing or empty origins list, naming `origins`', () => {
      expect(() => authFetch(harness.tokens, {} as never)).to.throw(TypeError, /`origins`/);
      expect(() => authFetch(harness.tokens, { origins: [] })).to.throw(TypeError, /`origins`/);
      expect(() => authFetch(harness.tokens, undefined as never)).to.throw(TypeError, /`options`/);
    });

    it('refuses an entry that is not a bare http(s) origin, naming it', () => {
      for (const bad of ['api.example.com', 'ftp://example.com', 'https://example.com/v1', 'https://u:p@example.com', 'https://example.com/?a', 42]) {
        expect(() => authFetch(harness.tokens, { origins: ['https://ok.example.com', bad as string] })).to.throw(TypeError, /`origins\[1\]`/);
      }
    });

    it('refuses plain http to another machine unless allowInsecureHttp is set', () => {
      expect(() => authFetch(harness.tokens, { origins: ['http://api.example.com'] })).to.throw(TypeError, /`origins\[0\]`.*allowInsecureHttp/);
      expect(() => authFetch(harness.tokens, { origins: ['http://api.example.com'], allowInsecureHttp: true })).not.to.throw();
      for (const loopback of ['http://localhost:8080', 'http://127.0.0.1', 'http://127.9.9.9:1', 'http://[::1]:3000']) {
        expect(() => authFetch(harness.tokens, { origins: [loopback] })).not.to.throw();
      }
    });

    it('refuses a bad tokens, fetch or allowInsecureHttp, naming it', () => {
      expect(() => authFetch({} as TokenStream, { origins: [harness.api.origin] })).to.throw(TypeError, /`tokens`/);
      expect(() => authFetch(harness.tokens, { origins: [harness.api.origin], fetch: 'x' as never })).to.throw(TypeError, /`fetch`/);
      expect(() => authFetch(harness.tokens, { origins: [harness.api.origin], allowInsecureHttp: 'yes' as never })).to.throw(TypeError, /`allowInsecureHttp`/);
    });

    it('reads its options once: origins and fetch changed afterwards change nothing', async () => {
      const entry = new URL(harness.api.origin);
      const options = { origins: [harness.api.origin, entry] as (string | URL)[] };
      const fetch = authFetch(harness.tokens, options);
      options.origins.push(harness.foreign.origin);
      entry.port = String(harness.foreign.port);
      Object.assign(options, { origins: [harness.foreign.origin], fetch: () => Promise.reject(new Error('not this one')) });
      await fetch(`${harness.foreign.origin}/data`);
      await fetch(`${harness.api.origin}/data`);
      expect(authorizations(harness.foreign)).to.deep.equal([undefined]);
      expect(authorizations(harness.api)).to.deep.equal(['Bearer t1']);
    });

    it('accepts URL objects as origins and as request input', async () => {
      const fetch = authFetch(harness.tokens, { origins: [new URL(`${harness.api.origin}/`)] });
      await fetch(new URL(`${harness.api.origin}/data`));
      expect(authorizations(harness.api)).to.deep.equal(['Bearer t1']);
    });
  });
});
