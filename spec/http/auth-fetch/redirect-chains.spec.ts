import type { ServerResponse } from 'node:http';
import { expect } from 'chai';
import nodeFetch from 'node-fetch';
import { authFetch, type FetchFunction, type FetchResponseLike } from 'rx-token-stream';
import { authFetchHarness, reply, type Received, type RecordingServer } from './support.js';

const credentials = { cookie: 'session=c00kie', 'proxy-authorization': 'Basic cHJveHk=' };

function leaked(request: Received): string[] {
  return ['authorization', 'cookie', 'proxy-authorization'].filter((name) => request.headers[name] !== undefined);
}

/** Whether nobody can read `response`'s body any more: a Node stream destroyed, a web stream cancelled. */
function released(response: FetchResponseLike): boolean {
  return (response.body as { destroyed?: boolean } | null)?.destroyed === true || (response as { bodyUsed?: boolean }).bodyUsed === true;
}

describe('authFetch redirect chains', () => {
  const route = (req: Received, res: ServerResponse): void => {
    const [path, query = ''] = req.url.split('?');
    const to = new URLSearchParams(query).get('to');
    // A body larger than socket buffers: only a client that lets go of it frees the socket.
    if (path === '/go' && to !== null) res.writeHead(302, { location: to }).end(Buffer.alloc(256 * 1024));
    else reply(res, path === '/denied' ? 401 : 200);
  };
  const harness = authFetchHarness({ api: route, foreign: route });

  /** A URL on `server` that redirects to `to`. */
  const go = (server: RecordingServer, to: string): string => `${server.origin}/go?to=${encodeURIComponent(to)}`;

  for (const [name, impl] of [
    ['node-fetch', nodeFetch as unknown as FetchFunction],
    ['global fetch', globalThis.fetch as unknown as FetchFunction],
  ] as const) {
    it(`lets go of each redirect's body before it sends the next hop (${name})`, async () => {
      const responses: FetchResponseLike[] = [];
      const releasedAtEachSend: boolean[][] = [];
      const send = (async (input: never, init?: never) => {
        releasedAtEachSend.push(responses.map(released));
        const response = await impl(input, init);
        responses.push(response);
        return response;
      }) as FetchFunction;
      const fetch = authFetch(harness.tokens, { origins: [harness.api.origin], fetch: send });
      const res = await fetch(go(harness.api, go(harness.foreign, `${harness.api.origin}/final`)) as never);
      expect(res.status).to.equal(200);
      expect(releasedAtEachSend).to.deep.equal([[], [true], [true, true]]);
    });
  }

  describe('once the chain has left its origin', () => {
    it('returns a 401 from a second foreign hop as it is, without invalidating the token', async () => {
      const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
      const res = await fetch(go(harness.api, go(harness.foreign, `${harness.foreign.origin}/denied`)));
      expect(res.status).to.equal(401);
      expect(harness.foreign.received.map((r) => r.url.split('?')[0])).to.deep.equal(['/go', '/denied']);
      expect(harness.api.received).to.have.length(1);
      expect(harness.source.callCount).to.equal(1);
    });

    it('returns a 401 from the first origin, reached again through foreign hops, as it is', async () => {
      const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
      const res = await fetch(go(harness.api, go(harness.foreign, `${harness.api.origin}/denied`)));
      expect(res.status).to.equal(401);
      expect(harness.api.received.map((r) => r.url.split('?')[0])).to.deep.equal(['/go', '/denied']);
      expect(harness.source.callCount).to.equal(1);
    });

    it('sends no Authorization, Cookie or Proxy-Authorization on any later hop, back at the origin included', async () => {
      const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
      const res = await fetch(go(harness.api, go(harness.foreign, go(harness.foreign, go(harness.api, `${harness.api.origin}/final`)))), { headers: credentials });
      expect(res.status).to.equal(200);
      expect(res.url).to.equal(`${harness.api.origin}/final`);
      const hops = [...harness.api.received, ...harness.foreign.received].map((r) => [r.headers.host === new URL(harness.api.origin).host ? 'api' : 'foreign', leaked(r)]);
      expect(hops).to.deep.equal([
        ['api', ['authorization', 'cookie', 'proxy-authorization']],
        ['api', []],
        ['api', []],
        ['foreign', []],
        ['foreign', []],
      ]);
    });
  });

  it('adds no token to a request for another origin that the wrapped fetch follows to the allowed one', async () => {
    const res = await authFetch(harness.tokens, { origins: [harness.api.origin] })(go(harness.foreign, `${harness.api.origin}/final`));
    expect(res.status).to.equal(200);
    expect(harness.api.received.map((r) => [r.url, r.headers.authorization])).to.deep.equal([['/final', undefined]]);
    expect(harness.source.callCount).to.equal(0);
  });

  it('rejects at the first redirect with `follow: 0`, and sends nothing further, as node-fetch v3 does', async () => {
    const direct = await nodeFetch(go(harness.api, `${harness.api.origin}/final`), { follow: 0 }).catch((e: unknown) => e);
    expect(direct).to.have.property('type', 'max-redirect');
    expect(harness.api.received).to.have.length(1);
    harness.api.received.length = 0;
    const error = await authFetch(harness.tokens, { origins: [harness.api.origin] })(go(harness.api, `${harness.api.origin}/final`), { follow: 0 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TypeError).with.property('message').that.matches(/more than 0 redirects/);
    expect(harness.api.received.map((r) => r.url.split('?')[0])).to.deep.equal(['/go']);
  });

  describe('a Location', () => {
    for (const location of ['javascript:alert(1)', 'file:///etc/passwd', 'data:text/plain,x', 'ftp://127.0.0.1/x', 'about:blank']) {
      it(`to ${location.split(':')[0]}: is refused with a TypeError, and nothing follows`, async () => {
        const error = await authFetch(harness.tokens, { origins: [harness.api.origin] })(go(harness.api, location)).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(TypeError).with.property('message').that.matches(/http\(s\) URL/);
        expect(harness.api.received).to.have.length(1);
      });
    }

    it('with credentials: is refused, naming none of them, even on the same origin', async () => {
      const withUser = `${harness.api.origin.replace('//', '//user:hunter2@')}/final`;
      const error = await authFetch(harness.tokens, { origins: [harness.api.origin] })(go(harness.api, withUser)).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TypeError).with.property('message').that.does.not.include('hunter2');
      expect(harness.api.received).to.have.length(1);
    });

    for (const [shape, relative] of [
      ['protocol-relative', (host: string) => `//${host}/landing`],
      ['backslashed', (host: string) => `\\\\${host}/landing`],
    ] as const) {
      it(`that is ${shape} and names another host: is a foreign hop`, async () => {
        const res = await authFetch(harness.tokens, { origins: [harness.api.origin] })(go(harness.api, relative(new URL(harness.foreign.origin).host)), { headers: credentials });
        expect(res.status).to.equal(200);
        expect(harness.foreign.received.map((r) => [r.url, leaked(r)])).to.deep.equal([['/landing', []]]);
      });
    }
  });
});
