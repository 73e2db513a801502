import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import got, { type Response } from 'got';
import { gotAuth } from 'rx-token-stream/got';
import { CERT, listenDualScheme } from '../http/auth-fetch/tls.js';
import { adapterHarness, apiServer, specTokens, tokenAt } from './support.js';

describe('gotAuth', () => {
  const h = adapterHarness();

  it('drops the token on a redirect from https to http on the same host and port, where got alone keeps a fixed one', async () => {
    const received: (string | undefined)[] = [];
    const dual = await listenDualScheme((req, res) => {
      received.push(req.headers.authorization);
      if (req.url === '/start') res.writeHead(302, { location: `${dual.httpOrigin}/plain` }).end();
      else res.end('ok');
    });
    const https = { certificateAuthority: CERT };
    await got(`${dual.httpsOrigin}/start`, { https, headers: { authorization: 'Bearer fixed' } });
    expect(received, 'got by itself').to.deep.equal(['Bearer fixed', 'Bearer fixed']);
    received.length = 0;
    await got.extend({ hooks: gotAuth(h.spec.tokens, { origins: [dual.httpsOrigin] }), https })(`${dual.httpsOrigin}/start`);
    expect(received).to.deep.equal([h.bearer(1), undefined]);
    await dual.close();
  });

  it('lets every afterResponse hook, its own included, see the retried response and not the rejected one', async () => {
    const statuses: number[] = [];
    const client = got.extend({ hooks: gotAuth(h.spec.tokens, { origins: [h.api.origin] }) }).extend({
      hooks: { afterResponse: [(response: Response) => (statuses.push(response.statusCode), response)] },
    });
    await h.spec.tokens.getToken();
    h.api.accepted.add(h.spec.value(2));
    const response = await client(`${h.api.origin}/?id=x`);
    expect([response.statusCode, response.retryCount]).to.deep.equal([200, 1]);
    expect(statuses).to.deep.equal([200]);
    expect(tokenAt(h.api)).to.deep.equal([['x', h.bearer(1)], ['x', h.bearer(2)]]);
  });

  it('retries json and form bodies with the same bytes, and sends a FormData once: got streams it', async () => {
    const client = got.extend({ hooks: gotAuth(h.spec.tokens, { origins: [h.api.origin] }), throwHttpErrors: false });
    const rotate = (n: number): void => {
      h.api.accepted.clear();
      h.api.accepted.add(h.spec.value(n));
    };
    await h.spec.tokens.getToken();
    rotate(2);
    await client.post(`${h.api.origin}/?id=json`, { json: { a: 1 } });
    rotate(3);
    await client.post(`${h.api.origin}/?id=form`, { form: { b: '2' } });
    rotate(4);
    const form = new FormData();
    form.set('c', '3');
    expect((await client.post(`${h.api.origin}/?id=multipart`, { body: form })).statusCode).to.equal(401);
    const sent = (id: string) => h.api.seen.filter((s) => s.id === id).map((s) => s.body.replace(/-+\w+/g, '--'));
    expect(sent('json')).to.deep.equal(['{"a":1}', '{"a":1}']);
    expect(sent('form')).to.deep.equal(['b=2', 'b=2']);
    expect(sent('multipart')).to.have.length(1);
  });

  it('sends the token with got.stream, whose rejection, with no afterResponse hook run, is not retried', async () => {
    const client = got.extend({ hooks: gotAuth(h.spec.tokens, { origins: [h.api.origin] }), throwHttpErrors: false });
    const stream = client.stream(`${h.api.origin}/?id=s`);
    let body = '';
    for await (const chunk of stream) body += String(chunk);
    expect(body).to.equal('denied');
    expect(tokenAt(h.api)).to.deep.equal([['s', h.bearer(1)]]);
  });

  it("leaves no listener on the caller's signal once its calls are over", async () => {
    const client = got.extend({ hooks: gotAuth(h.spec.tokens, { origins: [h.api.origin] }), throwHttpErrors: false, retry: { limit: 0 } });
    const controller = new AbortController();
    h.api.accepted.add(h.spec.value(2));
    await client(`${h.api.origin}/?id=a`, { signal: controller.signal });
    await client(`${h.api.origin}/?id=b`, { signal: controller.signal });
    await client('http://127.0.0.1:1/?id=refused', { signal: controller.signal }).catch(() => undefined);
    expect(getEventListeners(controller.signal, 'abort')).to.deep.equal([]);
  });

  it('refuses a URL with credentials to an allowed origin, which got would send as Basic auth beside the token', async () => {
    const client = got.extend({ hooks: gotAuth(h.spec.tokens, { origins: [h.api.origin] }) });
    const error = await client(h.api.origin.replace('http://', 'http://user:hunter2@')).catch((e: unknown) => e);
    expect(String(error)).to.include('gotAuth: a request URL must not hold credentials');
    expect(String(error)).not.to.include('hunter2');
    expect(h.api.seen).to.deep.equal([]);
  });
});
