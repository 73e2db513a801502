import { Readable } from 'node:stream';
import { Agent as HttpAgent } from 'node:http';
import { expect } from 'chai';
import type nodeFetch from 'node-fetch';
import { authFetch } from 'rx-token-stream';
import { authFetchHarness, reply, type Received } from './support.js';
import { listenDualScheme, trustingAgent, type DualSchemeServer } from './tls.js';

const credentials = { cookie: 'session=c00kie', 'proxy-authorization': 'Basic cHJveHk=', 'x-trace': 'abc' };

function leaked(request: Received): string[] {
  return ['authorization', 'cookie', 'proxy-authorization'].filter((name) => request.headers[name] !== undefined);
}

describe('authFetch redirects', () => {
  const harness = authFetchHarness({
    api: (req, res) => {
      const [path, query = ''] = req.url.split('?');
      const to = new URLSearchParams(query).get('to');
      const status = Number(new URLSearchParams(query).get('status') ?? 302);
      if (path === '/go' && to !== null) res.writeHead(status, { location: to }).end('moved');
      else if (path === '/loop') res.writeHead(302, { location: '/loop' }).end();
      else reply(res, 200);
    },
    foreign: (req, res) => {
      if (req.url === '/back') res.writeHead(302, { location: `${harness.api.origin}/final` }).end();
      else reply(res, req.url === '/denied' ? 401 : 200);
    },
  });

  const go = (to: string, status = 302): string => `${harness.api.origin}/go?status=${status}&to=${encodeURIComponent(to)}`;

  for (const [name, impl] of [
    ['node-fetch', undefined],
    ['global fetch', globalThis.fetch],
  ] as const) {
    describe(`with ${name}`, () => {
      // Both fetches are called the same way here; node-fetch's types describe the calls.
      const wrap = (): typeof nodeFetch =>
        impl === undefined
          ? authFetch(harness.tokens, { origins: [harness.api.origin] })
          : (authFetch(harness.tokens, { origins: [harness.api.origin], fetch: impl }) as unknown as typeof nodeFetch);

      it('keeps the token on a same-origin redirect and reports the final URL', async () => {
        const res = await wrap()(go('/final'));
        expect(res.status).to.equal(200);
        expect(res.url).to.equal(`${harness.api.origin}/final`);
        expect(res.redirected).to.equal(true);
        expect(harness.api.received.map((r) => [r.url.split('?')[0], r.headers.authorization])).to.deep.equal([
          ['/go', 'Bearer t1'],
          ['/final', 'Bearer t1'],
        ]);
      });

      it('never delivers the token, Cookie or Proxy-Authorization to another port', async () => {
        const res = await wrap()(go(`${harness.foreign.origin}/landing`), { headers: credentials });
        expect(res.status).to.equal(200);
        expect(leaked(harness.api.received[0]!)).to.deep.equal(['authorization', 'cookie', 'proxy-authorization']);
        expect(harness.foreign.received).to.have.length(1);
        expect(leaked(harness.foreign.received[0]!)).to.deep.equal([]);
        expect(harness.foreign.received[0]!.headers['x-trace']).to.equal('abc');
      });

      it('never delivers the token to another host name on the same port', async () => {
        const other = harness.api.origin.replace('127.0.0.1', 'localhost');
        await wrap()(go(`${other}/landing`), { headers: credentials });
        const landed = harness.api.received.filter((r) => r.headers.host?.startsWith('localhost:'));
        expect(landed.map((r) => r.url)).to.deep.equal(['/landing']);
        expect(leaked(landed[0]!)).to.deep.equal([]);
      });

      it('does not win the token back when a foreign server redirects to the origin', async () => {
        await wrap()(go(`${harness.foreign.origin}/back`));
        expect(harness.api.received.map((r) => [r.url.split('?')[0], r.headers.authorization])).to.deep.equal([
          ['/go', 'Bearer t1'],
          ['/final', undefined],
        ]);
      });

      it('returns a 401 from a foreign hop as it is, without invalidating the token', async () => {
        const res = await wrap()(go(`${harness.foreign.origin}/denied`));
        expect(res.status).to.equal(401);
        expect(harness.foreign.received).to.have.length(1);
        expect(harness.source.callCount).to.equal(1);
      });
    });
  }

  it('keeps localhost and 127.0.0.1 apart the other way round too', async () => {
    const local = harness.api.origin.replace('127.0.0.1', 'localhost');
    const fetch = authFetch(harness.tokens, { origins: [local] });
    await fetch(`${local}/go?to=${encodeURIComponent(`${harness.api.origin}/landing`)}`);
    expect(harness.api.received.map((r) => [r.headers.host?.split(':')[0], r.headers.authorization])).to.deep.equal([
      ['localhost', 'Bearer t1'],
      ['127.0.0.1', undefined],
    ]);
  });

  describe('from https to http on the same host and port', () => {
    let dual: DualSchemeServer;
    const seen: { scheme: string; authorization: string | undefined }[] = [];
    const plainAgent = new HttpAgent({ keepAlive: false });

    before(async () => {
      dual = await listenDualScheme((req, res) => {
        seen.push({ scheme: 'encrypted' in req.socket ? 'https' : 'http', authorization: req.headers.authorization });
        if (req.url === '/go') res.writeHead(302, { location: `${dual.httpOrigin}/landing` }).end();
        else reply(res, 200);
      });
    });
    after(() => dual.close());

    it('drops the token when the scheme downgrades', async () => {
      const fetch = authFetch(harness.tokens, { origins: [dual.httpsOrigin, dual.httpOrigin] });
      const res = await fetch(`${dual.httpsOrigin}/go`, {
        agent: (url: URL) => (url.protocol === 'https:' ? trustingAgent : plainAgent),
      });
      expect(res.status).to.equal(200);
      expect(seen).to.deep.equal([
        { scheme: 'https', authorization: 'Bearer t1' },
        { scheme: 'http', authorization: undefined },
      ]);
    });
  });

  describe('methods and bodies', () => {
    it('turns a POST into a GET without body on 303, and on 301 and 302', async () => {
      const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
      for (const status of [301, 302, 303]) {
        await fetch(go('/final', status), { method: 'POST', body: 'a=1', headers: { 'content-type': 'text/plain' } });
      }
      const finals = harness.api.received.filter((r) => r.url === '/final');
      expect(finals.map((r) => [r.method, r.body, r.headers['content-type']])).to.deep.equal([
        ['GET', '', undefined],
        ['GET', '', undefined],
        ['GET', '', undefined],
      ]);
    });

    it('resends method and body on 307 and 308', async () => {
      const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
      for (const status of [307, 308]) await fetch(go('/final', status), { method: 'PUT', body: 'a=1' });
      const finals = harness.api.received.filter((r) => r.url === '/final');
      expect(finals.map((r) => [r.method, r.body, r.headers.authorization])).to.deep.equal([
        ['PUT', 'a=1', 'Bearer t1'],
        ['PUT', 'a=1', 'Bearer t1'],
      ]);
    });

    it('rejects a 307 that would need a streamed body again', async () => {
      const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
      const error = await fetch(go('/final', 307), { method: 'POST', body: Readable.from(['a']) }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TypeError);
      expect(harness.api.received.map((r) => r.url.split('?')[0])).to.deep.equal(['/go']);
    });
  });

  describe('redirect modes', () => {
    it("rejects with 'error' and does not follow", async () => {
      const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
      const error = await fetch(go(`${harness.foreign.origin}/landing`), { redirect: 'error' }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TypeError);
      expect(harness.foreign.received).to.have.length(0);
    });

    it("returns the redirect itself with 'manual'", async () => {
      const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
      const res = await fetch(go(`${harness.foreign.origin}/landing`), { redirect: 'manual' });
      expect(res.status).to.equal(302);
      expect(res.headers.get('location')).to.equal(`${harness.foreign.origin}/landing`);
      expect(harness.foreign.received).to.have.length(0);
    });

    it('stops after 20 hops, or after node-fetch `follow`', async () => {
      const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
      expect(await fetch(`${harness.api.origin}/loop`).catch((e: unknown) => e)).to.be.instanceOf(TypeError);
      expect(harness.api.received).to.have.length(21);
      harness.api.received.length = 0;
      expect(await fetch(`${harness.api.origin}/loop`, { follow: 2 }).catch((e: unknown) => e)).to.be.instanceOf(TypeError);
      expect(harness.api.received).to.have.length(3);
    });

    it('refuses a redirect to a scheme other than http(s)', async () => {
      const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
      expect(await fetch(go('file:///etc/passwd')).catch((e: unknown) => e)).to.be.instanceOf(TypeError);
    });
  });
});
