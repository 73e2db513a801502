import { Agent as HttpAgent } from 'node:http';
import { connect } from 'node:net';
import axios, { type AxiosInstance } from 'axios';
import { expect } from 'chai';
import { axiosAuth } from 'rx-token-stream/axios';
import { apiServer, specTokens, type ApiServer, type Seen, type SpecTokens } from './support.js';

describe('axiosAuth', () => {
  let api: ApiServer;
  let spec: SpecTokens;
  let instance: AxiosInstance;
  const bearer = (n: number): string => `Bearer ${spec.value(n)}`;
  const tokenAt = (server: ApiServer) => server.seen.map((s) => [s.id, s.authorization]);

  beforeEach(async () => {
    api = await apiServer();
    spec = specTokens();
    instance = axios.create({ responseType: 'text' });
  });
  afterEach(async () => {
    spec.tokens.close();
    await api.close();
  });

  it('returns a function that removes both interceptors: then no token is sent and no 401 retried', async () => {
    const eject = axiosAuth(instance, spec.tokens, { origins: [api.origin] });
    api.accepted.add(spec.value(1));
    expect((await instance.get(`${api.origin}/?id=on`)).status).to.equal(200);
    eject();
    const error = await instance.get(`${api.origin}/?id=off`).catch((e: unknown) => e);
    expect(axios.isAxiosError(error) && error.response?.status).to.equal(401);
    expect(tokenAt(api)).to.deep.equal([['on', bearer(1)], ['off', undefined]]);
  });

  it('retries a 401 that validateStatus lets through as a response, as one it rejects', async () => {
    axiosAuth(instance, spec.tokens, { origins: [api.origin] });
    await spec.tokens.getToken();
    api.accepted.add(spec.value(2));
    const response = await instance.get(`${api.origin}/?id=v`, { validateStatus: () => true });
    expect(response.status).to.equal(200);
    expect(tokenAt(api)).to.deep.equal([['v', bearer(1)], ['v', bearer(2)]]);
  });

  it('retries JSON, URLSearchParams and Buffer data with the same bytes', async () => {
    axiosAuth(instance, spec.tokens, { origins: [api.origin] });
    const bodies = { json: { a: 1 }, form: new URLSearchParams({ b: '2' }), bytes: Buffer.from('c=3') };
    let n = 1;
    for (const [id, data] of Object.entries(bodies)) {
      n += 1;
      api.accepted.clear();
      api.accepted.add(spec.value(n));
      expect((await instance.post(`${api.origin}/?id=${id}`, data)).status, id).to.equal(200);
    }
    const sent = (id: string) => api.seen.filter((s) => s.id === id).map((s) => s.body);
    expect([sent('json'), sent('form'), sent('bytes')]).to.deep.equal([
      ['{"a":1}', '{"a":1}'],
      ['b=2', 'b=2'],
      ['c=3', 'c=3'],
    ]);
  });

  it('reads the URL as axios builds it from baseURL and url', async () => {
    const other = await apiServer();
    const based = axios.create({ baseURL: `${api.origin}/v1/`, responseType: 'text' });
    axiosAuth(based, spec.tokens, { origins: [api.origin] });
    api.accepted.add(spec.value(1));
    await based.get('/orders?id=relative');
    await based.get(`${other.origin}/?id=absolute`).catch(() => undefined);
    // With allowAbsoluteUrls false, axios appends even an absolute url to baseURL.
    await based.get(`${other.origin}/?id=appended`, { allowAbsoluteUrls: false }).catch(() => undefined);
    expect(tokenAt(api).map(([id, authorization]) => [id, authorization])).to.deep.equal([
      ['relative', bearer(1)],
      ['appended', bearer(1)],
    ]);
    expect(tokenAt(other)).to.deep.equal([['absolute', undefined]]);
    await other.close();
  });

  it('reads a URL object as the string it is when the call is made', async () => {
    axiosAuth(instance, spec.tokens, { origins: [api.origin] });
    api.accepted.add(spec.value(1));
    const other = await apiServer();
    const url = new URL(`${api.origin}/?id=object`);
    expect((await instance.get(url as unknown as string)).status).to.equal(200);
    url.port = String(other.port);
    await instance.get(url as unknown as string).catch(() => undefined);
    expect(tokenAt(api)).to.deep.equal([['object', bearer(1)]]);
    expect(tokenAt(other)).to.deep.equal([['object', undefined]]);
    await other.close();
  });

  it('sends no token over a Unix socket, whatever origin the URL names', async () => {
    axiosAuth(instance, spec.tokens, { origins: [api.origin] });
    await instance.get(`${api.origin}/`, { socketPath: '/nonexistent/socket' }).catch(() => undefined);
    expect(spec.source.callCount).to.equal(0);
  });

  it('sees the URL an interceptor installed after it sets, as axios runs that one first', async () => {
    const other = await apiServer();
    axiosAuth(instance, spec.tokens, { origins: [api.origin] });
    instance.interceptors.request.use((config) => ({ ...config, url: `${other.origin}/?id=moved` }) as typeof config);
    await instance.get(`${api.origin}/?id=asked`).catch(() => undefined);
    expect(tokenAt(other)).to.deep.equal([['moved', undefined]]);
    expect(spec.source.callCount).to.equal(0);
    await other.close();
  });

  it("drops every credential header on a redirect to a subdomain, which follow-redirects alone keeps the token for, and still runs the caller's beforeRedirect", async () => {
    // Every connection goes to the API server, whatever host the URL names.
    const routed = new HttpAgent();
    Object.assign(routed, { createConnection: () => connect({ host: '127.0.0.1', port: api.port }) });
    const hops: string[] = [];
    const client = axios.create({ httpAgent: routed, responseType: 'text', beforeRedirect: (options) => void hops.push(String(options.href)) });
    axiosAuth(client, spec.tokens, { origins: ['http://api.example.test'], allowInsecureHttp: true });
    const to = 'http://eu.api.example.test/?id=sub';
    const headers = { cookie: 'session=1', 'proxy-authorization': 'Basic cHJveHk=' };
    await client.get(`http://api.example.test/redirect?id=start&to=${encodeURIComponent(to)}`, { headers }).catch(() => undefined);
    const credentials = (s: Seen) => [s.id, s.host, s.authorization, s.headers.cookie, s.headers['proxy-authorization']];
    expect(api.seen.map(credentials)).to.deep.equal([
      ['start', 'api.example.test', bearer(1), 'session=1', 'Basic cHJveHk='],
      ['sub', 'eu.api.example.test', undefined, undefined, undefined],
    ]);
    expect(hops).to.deep.equal([to]);
    routed.destroy();
  });

  it('rejects an aborted wait for a token with axios’s own CanceledError, sending nothing', async () => {
    spec.source.callsFake(() => new Promise(() => undefined));
    axiosAuth(instance, spec.tokens, { origins: [api.origin] });
    const controller = new AbortController();
    const pending = instance.get(`${api.origin}/`, { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    const error = await pending;
    expect(axios.isCancel(error), String(error)).to.equal(true);
    expect(api.seen).to.deep.equal([]);
  });

  it('leaves the config and the Node request of a failed call readable, and the token out of what a log shows', async () => {
    axiosAuth(instance, spec.tokens, { origins: [api.origin] });
    const error = await instance.get(`${api.origin}/?id=r`).catch((e: unknown) => e);
    if (!axios.isAxiosError(error)) throw error;
    expect(error.request).to.have.property('_header').that.includes(bearer(2));
    expect(Object.keys(error)).not.to.include('request');
    expect(error.config?.headers.get('Authorization')).to.equal(undefined);
    expect(error.config?.httpAgent).to.equal(undefined);
  });
});
