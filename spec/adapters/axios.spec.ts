import { Agent as HttpAgent } from 'node:http';
import { connect } from 'node:net';
import axios, { type AxiosInstance } from 'axios';
import { expect } from 'chai';
import { axiosAuth } from 'rx-token-stream/axios';
import { adapterHarness, apiServer, specTokens, tokenAt, type Seen } from './support.js';

describe('axiosAuth', () => {
  const h = adapterHarness();
  let instance: AxiosInstance;
  beforeEach(() => {
    instance = axios.create({ responseType: 'text' });
  });

  it('returns a function that removes both interceptors: then no token is sent and no 401 retried', async () => {
    const eject = axiosAuth(instance, h.spec.tokens, { origins: [h.api.origin] });
    h.api.accepted.add(h.spec.value(1));
    expect((await instance.get(`${h.api.origin}/?id=on`)).status).to.equal(200);
    eject();
    const error = await instance.get(`${h.api.origin}/?id=off`).catch((e: unknown) => e);
    expect(axios.isAxiosError(error) && error.response?.status).to.equal(401);
    expect(tokenAt(h.api)).to.deep.equal([['on', h.bearer(1)], ['off', undefined]]);
  });

  it('retries a 401 that validateStatus lets through as a response, as one it rejects', async () => {
    axiosAuth(instance, h.spec.tokens, { origins: [h.api.origin] });
    await h.spec.tokens.getToken();
    h.api.accepted.add(h.spec.value(2));
    const response = await instance.get(`${h.api.origin}/?id=v`, { validateStatus: () => true });
    expect(response.status).to.equal(200);
    expect(tokenAt(h.api)).to.deep.equal([['v', h.bearer(1)], ['v', h.bearer(2)]]);
  });

  it('retries JSON, URLSearchParams and Buffer data with the same bytes', async () => {
    axiosAuth(instance, h.spec.tokens, { origins: [h.api.origin] });
    const bodies = { json: { a: 1 }, form: new URLSearchParams({ b: '2' }), bytes: Buffer.from('c=3') };
    let n = 1;
    for (const [id, data] of Object.entries(bodies)) {
      n += 1;
      h.api.accepted.clear();
      h.api.accepted.add(h.spec.value(n));
      expect((await instance.post(`${h.api.origin}/?id=${id}`, data)).status, id).to.equal(200);
    }
    const sent = (id: string) => h.api.seen.filter((s) => s.id === id).map((s) => s.body);
    expect([sent('json'), sent('form'), sent('bytes')]).to.deep.equal([
      ['{"a":1}', '{"a":1}'],
      ['b=2', 'b=2'],
      ['c=3', 'c=3'],
    ]);
  });

  it('reads the URL as axios builds it from baseURL and url', async () => {
    const other = await apiServer();
    const based = axios.create({ baseURL: `${h.api.origin}/v1/`, responseType: 'text' });
    axiosAuth(based, h.spec.tokens, { origins: [h.api.origin] });
    h.api.accepted.add(h.spec.value(1));
    await based.get('/orders?id=relative');
    await based.get(`${other.origin}/?id=absolute`).catch(() => undefined);
    // With allowAbsoluteUrls false, axios appends even an absolute url to baseURL.
    await based.get(`${other.origin}/?id=appended`, { allowAbsoluteUrls: false }).catch(() => undefined);
    expect(tokenAt(h.api).map(([id, authorization]) => [id, authorization])).to.deep.equal([
      ['relative', h.bearer(1)],
      ['appended', h.bearer(1)],
    ]);
    expect(tokenAt(other)).to.deep.equal([['absolute', undefined]]);
    await other.close();
  });

  it('reads a URL object as the string it is when the call is made', async () => {
    axiosAuth(instance, h.spec.tokens, { origins: [h.api.origin] });
    h.api.accepted.add(h.spec.value(1));
    const other = await apiServer();
    const url = new URL(`${h.api.origin}/?id=object`);
    expect((await instance.get(url as unknown as string)).status).to.equal(200);
    url.port = String(other.port);
    await instance.get(url as unknown as string).catch(() => undefined);
    expect(tokenAt(h.api)).to.deep.equal([['object', h.bearer(1)]]);
    expect(tokenAt(other)).to.deep.equal([['object', undefined]]);
    await other.close();
  });

  it('sends no token over a Unix socket, whatever origin the URL names', async () => {
    axiosAuth(instance, h.spec.tokens, { origins: [h.api.origin] });
    await instance.get(`${h.api.origin}/`, { socketPath: '/nonexistent/socket' }).catch(() => undefined);
    expect(h.spec.source.callCount).to.equal(0);
  });

  it('sees the URL an interceptor installed after it sets, as axios runs that one first', async () => {
    const other = await apiServer();
    axiosAuth(instance, h.spec.tokens, { origins: [h.api.origin] });
    instance.interceptors.request.use((config) => ({ ...config, url: `${other.origin}/?id=moved` }) as typeof config);
    await instance.get(`${h.api.origin}/?id=asked`).catch(() => undefined);
    expect(tokenAt(other)).to.deep.equal([['moved', undefined]]);
    expect(h.spec.source.callCount).to.equal(0);
    await other.close();
  });

  it("drops every credential header on a redirect to a subdomain, which follow-redirects alone keeps the token for, and still runs the caller's beforeRedirect", async () => {
    // Every connection goes to the API server, whatever host the URL names.
    const routed = new HttpAgent();
    Object.assign(routed, { createConnection: () => connect({ host: '127.0.0.1', port: h.api.port }) });
    const hops: string[] = [];
    const client = axios.create({ httpAgent: routed, responseType: 'text', beforeRedirect: (options) => void hops.push(String(options.href)) });
    axiosAuth(client, h.spec.tokens, { origins: ['http://api.example.test'], allowInsecureHttp: true });
    const to = 'http://eu.api.example.test/?id=sub';
    const headers = { cookie: 'session=1', 'proxy-authorization': 'Basic cHJveHk=' };
    await client.get(`http://api.example.test/redirect?id=start&to=${encodeURIComponent(to)}`, { headers }).catch(() => undefined);
    const credentials = (s: Seen) => [s.id, s.host, s.authorization, s.headers.cookie, s.headers['proxy-authorization']];
    expect(h.api.seen.map(credentials)).to.deep.equal([
      ['start', 'api.example.test', h.bearer(1), 'session=1', 'Basic cHJveHk='],
      ['sub', 'eu.api.example.test', undefined, undefined, undefined],
    ]);
    expect(hops).to.deep.equal([to]);
    routed.destroy();
  });

  it('rejects an aborted wait for a token with axios’s own CanceledError, sending nothing', async () => {
    h.spec.source.callsFake(() => new Promise(() => undefined));
    axiosAuth(instance, h.spec.tokens, { origins: [h.api.origin] });
    const controller = new AbortController();
    const pending = instance.get(`${h.api.origin}/`, { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    const error = await pending;
    expect(axios.isCancel(error), String(error)).to.equal(true);
    expect(h.api.seen).to.deep.equal([]);
  });

  it('leaves the config and the Node request of a failed call readable, and the token out of what a log shows', async () => {
    axiosAuth(instance, h.spec.tokens, { origins: [h.api.origin] });
    const error = await instance.get(`${h.api.origin}/?id=r`).catch((e: unknown) => e);
    if (!axios.isAxiosError(error)) throw error;
    expect(error.request).to.have.property('_header').that.includes(h.bearer(2));
    expect(Object.keys(error)).not.to.include('request');
    expect(error.config?.headers.get('Authorization')).to.equal(undefined);
    expect(error.config?.httpAgent).to.equal(undefined);
  });
});
