import { expect } from 'chai';
import ky, { HTTPError, isTimeoutError, type KyResponse } from 'ky';
import { TokenError } from 'rx-token-stream';
import { kyAuth } from 'rx-token-stream/ky';
import { apiServer, expectNoSecret, specTokens, type ApiServer, type SpecTokens } from './support.js';

describe('kyAuth', () => {
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

  it('composes with ky.extend: a hook added after it sees the retried response only', async () => {
    const statuses: number[] = [];
    const api2 = ky
      .create({ prefixUrl: api.origin, hooks: kyAuth(spec.tokens, { origins: [api.origin] }) })
      .extend({ hooks: { afterResponse: [(_request, _options, response: KyResponse) => void statuses.push(response.status)] } });
    await spec.tokens.getToken();
    api.accepted.add(spec.value(2));
    expect(await api2.get('?id=x').text()).to.equal('ok x');
    expect(statuses).to.deep.equal([200]);
    expect(tokenAt(api)).to.deep.equal([['x', bearer(1)], ['x', bearer(2)]]);
  });

  it('takes no redirected response for a rejection: fetch does not say which origins its chain went through', async () => {
    const client = ky.create({ hooks: kyAuth(spec.tokens, { origins: [api.origin] }), throwHttpErrors: false });
    const same = `${api.origin}/redirect?id=hop&status=307&to=${encodeURIComponent(`${api.origin}/?id=stay`)}`;
    expect((await client.get(same)).status).to.equal(401);
    expect(tokenAt(api)).to.deep.equal([['hop', bearer(1)], ['stay', bearer(1)]]);
    expect(spec.source.callCount).to.equal(1);
  });

  it('bounds the whole exchange by ky’s timeout, a retry included, and rejects with fetch’s TimeoutError', async () => {
    const client = ky.create({ hooks: kyAuth(spec.tokens, { origins: [api.origin] }), timeout: 300, retry: 0 });
    await spec.tokens.getToken();
    const arrived = api.arrival('slow');
    const pending = client.get(`${api.origin}/?id=slow`).catch((e: unknown) => e);
    // The first attempt is answered (401) at once; the retry is held, and never answered.
    await arrived;
    api.hold('slow');
    const error = await pending;
    expect(error).to.be.instanceOf(DOMException).with.property('name', 'TimeoutError');
    expect(isTimeoutError(error), 'ky takes it for its timeout').to.equal(true);
    expect(tokenAt(api)).to.deep.equal([['slow', bearer(1)], ['slow', bearer(2)]]);
  });

  it('bounds the wait for a token by ky’s timeout too', async () => {
    spec.tokens.close();
    spec = specTokens();
    spec.source.returns(new Promise(() => {}));
    const client = ky.create({ hooks: kyAuth(spec.tokens, { origins: [api.origin] }), timeout: 100, retry: 0 });
    const error = await client.get(`${api.origin}/?id=never`).catch((e: unknown) => e);
    expect(isTimeoutError(error)).to.equal(true);
    expect(api.seen).to.deep.equal([]);
  });

  it('leaves no token in the request of ky’s errors, a timeout’s and an HTTPError’s', async () => {
    const client = ky.create({ hooks: kyAuth(spec.tokens, { origins: [api.origin] }), timeout: 100, retry: 0 });
    api.accepted.add(spec.value(1));
    api.hold('held');
    const timedOut = await client.get(`${api.origin}/?id=held`).catch((e: unknown) => e);
    expect((timedOut as Error).name).to.equal('TimeoutError');
    expectNoSecret(timedOut, spec.value(1), 'the timeout');
    api.accepted.clear();
    const rejected = (await client.get(`${api.origin}/?id=twice`).catch((e: unknown) => e)) as HTTPError;
    expect(rejected).to.be.instanceOf(HTTPError);
    expect(rejected.request.headers.get('authorization')).to.equal(null);
    expectNoSecret(rejected, spec.value(2), "ky's HTTPError");
  });

  it('answers the request, so that ky runs the beforeRequest hooks listed before it and none after it, for its origins only', async () => {
    const other = await apiServer();
    const ran: string[] = [];
    const mark = (name: string) => (request: Request) => void ran.push(`${name} ${new URL(request.url).port === other.origin.split(':')[2] ? 'other' : 'api'}`);
    const client = ky
      .create({ hooks: { beforeRequest: [mark('before'), ...kyAuth(spec.tokens, { origins: [api.origin] }).beforeRequest] } })
      .extend({ hooks: { beforeRequest: [mark('after')] } });
    api.accepted.add(spec.value(1));
    await client.get(`${api.origin}/?id=a`);
    await client.get(`${other.origin}/?id=b`, { throwHttpErrors: false });
    expect(ran).to.deep.equal(['before api', 'before other', 'after other']);
    expect(tokenAt(api)).to.deep.equal([['a', bearer(1)]]);
    expect(tokenAt(other)).to.deep.equal([['b', undefined]]);
    await other.close();
  });

  it('lets ky retry a token error as it retries a network error, each attempt asking for a token again', async () => {
    spec.tokens.close();
    spec = specTokens({ retry: { count: 0 } });
    spec.source.rejects(new Error('source down'));
    const client = ky.create({ hooks: kyAuth(spec.tokens, { origins: [api.origin] }), retry: { limit: 2, delay: () => 0 } });
    const error = await client.get(api.origin).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TokenError);
    expect(spec.source.callCount).to.equal(3);
    expect(api.seen).to.deep.equal([]);
  });

  it('sends no token to another origin under prefixUrl, and asks for none', async () => {
    const other = await apiServer();
    const client = ky.create({ prefixUrl: other.origin, hooks: kyAuth(spec.tokens, { origins: [api.origin] }), throwHttpErrors: false });
    await client.get('?id=x');
    expect(tokenAt(other)).to.deep.equal([['x', undefined]]);
    expect(spec.source.callCount).to.equal(0);
    await other.close();
  });
});
