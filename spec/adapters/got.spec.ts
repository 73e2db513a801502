import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import got, { type Response } from 'got';
import { gotAuth } from 'rx-token-stream/got';
import { CERT, listenDualScheme } from '../http/auth-fetch/tls.js';
import { apiServer, specTokens, type ApiServer, type SpecTokens } from './support.js';

describe('gotAuth', () => {
  let api: ApiServer;
  let spec: SpecTokens;
  const bearer = (n: number): string => `Bearer ${spec.value(n)}`;
  const tokenAt = (server: ApiServer) => server.seen.map((s) => [s.id, s.authorization]);

  beforeEach(async () => {
    api = await apiServer();
    spec = specTokens();
  });
  afterEach(async () => {
    spec.tokens.close();
    await api.close();
  });

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
    await got.extend({ hooks: gotAuth(spec.tokens, { origins: [dual.httpsOrigin] }), https })(`${dual.httpsOrigin}/start`);
    expect(received).to.deep.equal([bearer(1), undefined]);
    await dual.close();
  });

  it('lets every afterResponse hook, its own included, see the retried response and not the rejected one', async () => {
    const statuses: number[] = [];
    const client = got.extend({ hooks: gotAuth(spec.tokens, { origins: [api.origin] }) }).extend({
      hooks: { afterResponse: [(response: Response) => (statuses.push(response.statusCode), response)] },
    });
    await spec.tokens.getToken();
    api.accepted.add(spec.value(2));
    const response = await client(`${api.origin}/?id=x`);
    expect([response.statusCode, response.retryCount]).to.deep.equal([200, 1]);
    expect(statuses).to.deep.equal([200]);
    expect(tokenAt(api)).to.deep.equal([['x', bearer(1)], ['x', bearer(2)]]);
  });

  it('retries json and form bodies with the same bytes, and sends a FormData once: got streams it', async () => {
    const client = got.extend({ hooks: gotAuth(spec.tokens, { origins: [api.origin] }), throwHttpErrors: false });
    const rotate = (n: number): void => {
      api.accepted.clear();
      api.accepted.add(spec.value(n));
    };
    await spec.tokens.getToken();
    rotate(2);
    await client.post(`${api.origin}/?id=json`, { json: { a: 1 } });
    rotate(3);
    await client.post(`${api.origin}/?id=form`, { form: { b: '2' } });
    rotate(4);
    const form = new FormData();
    form.set('c', '3');
    expect((await client.post(`${api.origin}/?id=multipart`, { body: form })).statusCode).to.equal(401);
    const sent = (id: string) => api.seen.filter((s) => s.id === id).map((s) => s.body.replace(/-+\w+/g, '--'));
    expect(sent('json')).to.deep.equal(['{"a":1}', '{"a":1}']);
    expect(sent('form')).to.deep.equal(['b=2', 'b=2']);
    expect(sent('multipart')).to.have.length(1);
  });

  it('sends the token with got.stream, whose rejection, with no afterResponse hook run, is not retried', async () => {
    const client = got.extend({ hooks: gotAuth(spec.tokens, { origins: [api.origin] }), throwHttpErrors: false });
    const stream = client.stream(`${api.origin}/?id=s`);
    let body = '';
    for await (const chunk of stream) body += String(chunk);
    expect(body).to.equal('denied');
    expect(tokenAt(api)).to.deep.equal([['s', bearer(1)]]);
  });

  it("leaves no listener on the caller's signal once its calls are over", async () => {
    const client = got.extend({ hooks: gotAuth(spec.tokens, { origins: [api.origin] }), throwHttpErrors: false, retry: { limit: 0 } });
    const controller = new AbortController();
    api.accepted.add(spec.value(2));
    await client(`${api.origin}/?id=a`, { signal: controller.signal });
    await client(`${api.origin}/?id=b`, { signal: controller.signal });
    await client('http://127.0.0.1:1/?id=refused', { signal: controller.signal }).catch(() => undefined);
    expect(getEventListeners(controller.signal, 'abort')).to.deep.equal([]);
  });

  it('refuses a URL with credentials to an allowed origin, which got would send as Basic auth beside the token', async () => {
    const client = got.extend({ hooks: gotAuth(spec.tokens, { origins: [api.origin] }) });
    const error = await client(api.origin.replace('http://', 'http://user:hunter2@')).catch((e: unknown) => e);
    expect(String(error)).to.include('gotAuth: a request URL must not hold credentials');
    expect(String(error)).not.to.include('hunter2');
    expect(api.seen).to.deep.equal([]);
  });
});
