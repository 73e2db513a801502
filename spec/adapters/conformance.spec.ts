import { inspect } from 'node:util';
import { expect } from 'chai';
import { TokenStreams } from 'rx-token-stream';
import { listenDualScheme } from '../http/auth-fetch/tls.js';
import { listen } from '../support/loopback.js';
import { clients } from './clients.js';
import { adapterHarness, apiServer, expectNoSecret, specTokens, tokenAt, type ApiServer } from './support.js';

const count = <T>(items: T[]): Map<T, number> => items.reduce((map, item) => map.set(item, (map.get(item) ?? 0) + 1), new Map<T, number>());

// One suite, run once per client. Every request goes to real loopback servers; what the
// servers received is what the assertions count.
for (const client of clients) {
  describe(`conformance: ${client.name}`, () => {
    const h = adapterHarness();

    it('serves 1,000 parallel requests on an expired token with 1 source call and none failed', async () => {
      const sender = client.create(h.spec.tokens, { origins: [h.api.origin] });
      h.api.accepted.add(h.spec.value(1));
      expect((await sender.send(`${h.api.origin}/?id=warm`)).status).to.equal(200);
      h.spec.clock.advance(2 * 3_600_000);
      h.api.accepted.add(h.spec.value(2));
      const outcomes = await Promise.all(Array.from({ length: 1_000 }, (_, i) => sender.send(`${h.api.origin}/?id=e${i}`)));
      expect(count(outcomes.map((o) => o.status))).to.deep.equal(new Map([[200, 1_000]]));
      expect(h.spec.source.callCount).to.equal(2);
      const expired = h.api.seen.filter((s) => s.id.startsWith('e'));
      expect(count(expired.map((s) => s.authorization))).to.deep.equal(new Map([[h.bearer(2), 1_000]]));
      await sender.close();
    });

    it('meets a 401 storm of 1,000 with 1 refresh, none failed and at most 2 attempts each', async () => {
      const sender = client.create(h.spec.tokens, { origins: [h.api.origin] });
      await h.spec.tokens.getToken();
      h.api.accepted.add(h.spec.value(2));
      const outcomes = await Promise.all(Array.from({ length: 1_000 }, (_, i) => sender.send(`${h.api.origin}/?id=s${i}`)));
      expect(count(outcomes.map((o) => o.status))).to.deep.equal(new Map([[200, 1_000]]));
      expect(h.spec.source.callCount).to.equal(2);
      const attempts = h.api.attempts();
      expect(attempts.size).to.equal(1_000);
      expect(Math.max(...attempts.values())).to.equal(2);
      await sender.close();
    });

    it('returns a second rejection to the caller, after 2 attempts and 1 refresh', async () => {
      const sender = client.create(h.spec.tokens, { origins: [h.api.origin] });
      const outcome = await sender.send(`${h.api.origin}/?id=twice`);
      expect(outcome.status).to.equal(401);
      expect(h.api.seen.map((s) => s.authorization)).to.deep.equal([h.bearer(1), h.bearer(2)]);
      expect(h.spec.source.callCount).to.equal(2);
      await sender.close();
    });

    it('makes no new refresh for a late 401 of a token already replaced', async () => {
      const sender = client.create(h.spec.tokens, { origins: [h.api.origin] });
      await h.spec.tokens.getToken();
      const release = h.api.hold('late');
      const arrived = h.api.arrival('late');
      const late = sender.send(`${h.api.origin}/?id=late`);
      await arrived;
      h.spec.tokens.invalidate(h.spec.value(1));
      await h.spec.tokens.getToken();
      h.api.accepted.add(h.spec.value(2));
      release();
      expect((await late).status).to.equal(200);
      expect(h.spec.source.callCount).to.equal(2);
      expect(h.api.seen.map((s) => s.authorization)).to.deep.equal([h.bearer(1), h.bearer(2)]);
      await sender.close();
    });

    it('sends a string body again with the retry, and a stream body only if it can replay it', async () => {
      const sender = client.create(h.spec.tokens, { origins: [h.api.origin] });
      await h.spec.tokens.getToken();
      h.api.accepted.add(h.spec.value(2));
      const text = await sender.send(`${h.api.origin}/?id=text`, { method: 'POST', body: 'a=1' });
      expect(text.status).to.equal(200);
      expect(h.api.seen.filter((s) => s.id === 'text').map((s) => s.body)).to.deep.equal(['a=1', 'a=1']);

      h.api.accepted.clear();
      h.api.accepted.add(h.spec.value(3));
      const streamed = await sender.send(`${h.api.origin}/?id=stream`, { method: 'POST', body: { stream: ['b=', '2'] } });
      const bodies = h.api.seen.filter((s) => s.id === 'stream').map((s) => s.body);
      if (client.replaysStreams) {
        expect(streamed.status).to.equal(200);
        expect(bodies).to.deep.equal(['b=2', 'b=2']);
      } else {
        // Sent once; the token it sent is invalidated all the same.
        expect(streamed.status).to.equal(401);
        expect(bodies).to.deep.equal(['b=2']);
        expect((await sender.send(`${h.api.origin}/?id=after`)).status).to.equal(200);
      }
      expect(h.spec.source.callCount).to.equal(3);
      await sender.close();
    });

    it('sends no token to another origin, nor through a redirect to one, and asks for none', async () => {
      const other = await apiServer();
      const sender = client.create(h.spec.tokens, { origins: [h.api.origin] });
      await sender.send(`${other.origin}/?id=direct`);
      expect(h.spec.source.callCount).to.equal(0);
      h.api.accepted.add(h.spec.value(1));
      const away = `${h.api.origin}/redirect?id=away&to=${encodeURIComponent(`${other.origin}/?id=landed`)}`;
      await sender.send(away);
      const back = `${h.api.origin}/redirect?id=out&to=${encodeURIComponent(`${other.origin}/redirect?id=via&to=${encodeURIComponent(`${h.api.origin}/?id=back`)}`)}`;
      await sender.send(back);
      const same = `${h.api.origin}/redirect?id=hop&status=307&to=${encodeURIComponent(`${h.api.origin}/?id=stay`)}`;
      expect((await sender.send(same)).status).to.equal(200);
      expect(tokenAt(other)).to.deep.equal([['direct', undefined], ['landed', undefined], ['via', undefined]]);
      // Once a chain has left its first origin, no hop carries the token, back there included.
      expect(tokenAt(h.api)).to.deep.equal([['away', h.bearer(1)], ['out', h.bearer(1)], ['back', undefined], ['hop', h.bearer(1)], ['stay', h.bearer(1)]]);
      await sender.close();
      await other.close();
    });

    it('sends no token to a look-alike host, port or user info', async () => {
      const sender = client.create(h.spec.tokens, { origins: ['http://api.example.test'], allowInsecureHttp: true }, { routeTo: h.api.port });
      for (const url of ['http://api.example.test.evil.test/', 'http://api.example.test:8080/', 'http://evil.test/?http://api.example.test', 'http://api-example.test/']) {
        await sender.send(`${url}${url.includes('?') ? '&' : '?'}id=${encodeURIComponent(url)}`);
      }
      // fetch refuses a URL with user info; axios and got send it to evil.test as Basic auth.
      const refused = await sender.send('http://api.example.test@evil.test/?id=userinfo').catch((error: unknown) => error);
      expect(h.api.seen.filter((s) => s.id === 'userinfo').map((s) => s.host)).to.deep.equal(refused instanceof Error ? [] : ['evil.test']);
      expect(h.api.seen.filter((s) => s.authorization?.startsWith('Bearer'))).to.deep.equal([]);
      expect(h.spec.source.callCount).to.equal(0);
      h.api.accepted.add(h.spec.value(1));
      expect((await sender.send('http://API.example.test:80/?id=allowed')).status).to.equal(200);
      await sender.close();
    });

    it('sends no token over a redirect from https to http on the same host and port', async () => {
      const received: [string, string | undefined][] = [];
      const dual = await listenDualScheme((req, res) => {
        received.push([`${(req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'} ${req.url}`, req.headers.authorization]);
        if (req.url === '/start') res.writeHead(302, { location: `http://127.0.0.1:${dual.port}/plain` }).end();
        else res.writeHead(200).end('ok');
      });
      const sender = client.create(h.spec.tokens, { origins: [dual.httpsOrigin] }, { trustSpecCert: true });
      expect((await sender.send(`${dual.httpsOrigin}/start`)).status).to.equal(200);
      expect(received).to.deep.equal([['https /start', h.bearer(1)], ['http /plain', undefined]]);
      await sender.close();
      await dual.close();
    });

    it("rejects only the call whose caller aborts, while it waits for a token or for its response", async () => {
      let release!: () => void;
      h.spec.source.onFirstCall().callsFake(() => new Promise((resolve) => (release = () => resolve({ value: h.spec.value(1) }))));
      const sender = client.create(h.spec.tokens, { origins: [h.api.origin] });
      h.api.accepted.add(h.spec.value(1));
      const waiting = new AbortController();
      const aborted = sender.send(`${h.api.origin}/?id=a`, { signal: waiting.signal }).catch((error: unknown) => error);
      const other = sender.send(`${h.api.origin}/?id=b`);
      waiting.abort();
      const error = await aborted;
      expect(client.isAbort(error), String(error)).to.equal(true);
      release();
      expect((await other).status).to.equal(200);

      const inFlight = new AbortController();
      h.api.hold('c');
      const arrived = h.api.arrival('c');
      const cut = sender.send(`${h.api.origin}/?id=c`, { signal: inFlight.signal }).catch((e: unknown) => e);
      const next = sender.send(`${h.api.origin}/?id=d`);
      await arrived;
      inFlight.abort();
      expect(client.isAbort(await cut), String(await cut)).to.equal(true);
      expect((await next).status).to.equal(200);
      expect(h.api.seen.map((s) => s.id).sort()).to.deep.equal(['b', 'c', 'd']);
      expect(h.spec.source.callCount).to.equal(1);
      await sender.close();
    });

    it("takes a TokenStreams handle: the key's token goes out, and a rejection refreshes that key only", async () => {
      let issued = 0;
      const streams = new TokenStreams({ source: async ({ key }) => ({ value: `${key}-${++issued}` }) });
      await streams.getToken('b');
      const sender = client.create(streams.for('a'), { origins: [h.api.origin] });
      await streams.getToken('a');
      h.api.accepted.add('a-3');
      expect((await sender.send(`${h.api.origin}/?id=k`)).status).to.equal(200);
      expect(h.api.seen.map((s) => s.authorization)).to.deep.equal(['Bearer a-2', 'Bearer a-3']);
      expect((await streams.getToken('b')).value).to.equal('b-1');
      streams.close();
      await sender.close();
    });

    it('shows no token in its errors or itself, in util.inspect or JSON', async () => {
      const sender = client.create(h.spec.tokens, { origins: [h.api.origin] });
      const second = await sender.send(`${h.api.origin}/?id=denied`);
      h.api.accepted.add(h.spec.value(3));
      const ok = await sender.send(`${h.api.origin}/?id=ok`);
      const closed = await listen(() => undefined);
      const { origin } = closed;
      await closed.close();
      const refused = client.create(h.spec.tokens, { origins: [origin] });
      const network = await refused.send(`${origin}/?id=refused`).catch((e: unknown) => e);
      const controller = new AbortController();
      h.api.hold('held');
      const arrived = h.api.arrival('held');
      const abort = sender.send(`${h.api.origin}/?id=held`, { signal: controller.signal }).catch((e: unknown) => e);
      await arrived;
      controller.abort();
      for (const n of [1, 2, 3]) {
        const secret = h.spec.value(n);
        expectNoSecret(second.error, secret, 'the error of a second 401');
        expectNoSecret(second.response, secret, 'the response of a second 401');
        if (!client.responseHoldsRequest) expectNoSecret(ok.response, secret, 'a response');
        expectNoSecret(network, secret, 'a network error');
        expectNoSecret(await abort, secret, 'an abort error');
        expectNoSecret(sender.adapter, secret, 'the adapter');
      }
      expect(network).to.be.instanceOf(Error);
      // axios's and got's successful responses hold Node's request, headers as sent, as with
      // a fixed header: reshaping them would cost every request several µs.
      expect(inspect(ok.response).includes(h.spec.value(3)), 'a response shows its own token').to.equal(client.responseHoldsRequest);
      await refused.close();
      await sender.close();
    });
  });
}
