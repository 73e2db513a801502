import { expect } from 'chai';
import ky, { HTTPError, isTimeoutError, type KyResponse } from 'ky';
import { TokenError } from 'rx-token-stream';
import { kyAuth } from 'rx-token-stream/ky';
import { adapterHarness, apiServer, expectNoSecret, specTokens, tokenAt } from './support.js';

describe('kyAuth', () => {
  const h = adapterHarness();

  it('composes with ky.extend: a hook added after it sees the retried response only', async () => {
    const statuses: number[] = [];
    const api2 = ky
      .create({ prefixUrl: h.api.origin, hooks: kyAuth(h.spec.tokens, { origins: [h.api.origin] }) })
      .extend({ hooks: { afterResponse: [(_request, _options, response: KyResponse) => void statuses.push(response.status)] } });
    await h.spec.tokens.getToken();
    h.api.accepted.add(h.spec.value(2));
    expect(await api2.get('?id=x').text()).to.equal('ok x');
    expect(statuses).to.deep.equal([200]);
    expect(tokenAt(h.api)).to.deep.equal([['x', h.bearer(1)], ['x', h.bearer(2)]]);
  });

  it('takes no redirected response for a rejection: fetch does not say which origins its chain went through', async () => {
    const client = ky.create({ hooks: kyAuth(h.spec.tokens, { origins: [h.api.origin] }), throwHttpErrors: false });
    const same = `${h.api.origin}/redirect?id=hop&status=307&to=${encodeURIComponent(`${h.api.origin}/?id=stay`)}`;
    expect((await client.get(same)).status).to.equal(401);
    expect(tokenAt(h.api)).to.deep.equal([['hop', h.bearer(1)], ['stay', h.bearer(1)]]);
    expect(h.spec.source.callCount).to.equal(1);
  });

  it('bounds the whole exchange by ky’s timeout, a retry included, and rejects with fetch’s TimeoutError', async () => {
    const client = ky.create({ hooks: kyAuth(h.spec.tokens, { origins: [h.api.origin] }), timeout: 300, retry: 0 });
    await h.spec.tokens.getToken();
    const arrived = h.api.arrival('slow');
    const pending = client.get(`${h.api.origin}/?id=slow`).catch((e: unknown) => e);
    // The first attempt is answered (401) at once; the retry is held, and never answered.
    await arrived;
    h.api.hold('slow');
    const error = await pending;
    expect(error).to.be.instanceOf(DOMException).with.property('name', 'TimeoutError');
    expect(isTimeoutError(error), 'ky takes it for its timeout').to.equal(true);
    expect(tokenAt(h.api)).to.deep.equal([['slow', h.bearer(1)], ['slow', h.bearer(2)]]);
  });

  it('bounds the wait for a token by ky’s timeout too', async () => {
    h.spec.tokens.close();
    h.spec = specTokens();
    h.spec.source.returns(new Promise(() => {}));
    const client = ky.create({ hooks: kyAuth(h.spec.tokens, { origins: [h.api.origin] }), timeout: 100, retry: 0 });
    const error = await client.get(`${h.api.origin}/?id=never`).catch((e: unknown) => e);
    expect(isTimeoutError(error)).to.equal(true);
    expect(h.api.seen).to.deep.equal([]);
  });

  it('leaves no token in the request of ky’s errors, a timeout’s and an HTTPError’s', async () => {
    const client = ky.create({ hooks: kyAuth(h.spec.tokens, { origins: [h.api.origin] }), timeout: 100, retry: 0 });
    h.api.accepted.add(h.spec.value(1));
    h.api.hold('held');
    const timedOut = await client.get(`${h.api.origin}/?id=held`).catch((e: unknown) => e);
    expect((timedOut as Error).name).to.equal('TimeoutError');
    expectNoSecret(timedOut, h.spec.value(1), 'the timeout');
    h.api.accepted.clear();
    const rejected = (await client.get(`${h.api.origin}/?id=twice`).catch((e: unknown) => e)) as HTTPError;
    expect(rejected).to.be.instanceOf(HTTPError);
    expect(rejected.request.headers.get('authorization')).to.equal(null);
    expectNoSecret(rejected, h.spec.value(2), "ky's HTTPError");
  });

  it('answers the request, so that ky runs the beforeRequest hooks listed before it and none after it, for its origins only', async () => {
    const other = await apiServer();
    const ran: string[] = [];
    const mark = (name: string) => (request: Request) => void ran.push(`${name} ${new URL(request.url).port === other.origin.split(':')[2] ? 'other' : 'api'}`);
    const client = ky
      .create({ hooks: { beforeRequest: [mark('before'), ...kyAuth(h.spec.tokens, { origins: [h.api.origin] }).beforeRequest] } })
      .extend({ hooks: { beforeRequest: [mark('after')] } });
    h.api.accepted.add(h.spec.value(1));
    await client.get(`${h.api.origin}/?id=a`);
    await client.get(`${other.origin}/?id=b`, { throwHttpErrors: false });
    expect(ran).to.deep.equal(['before api', 'before other', 'after other']);
    expect(tokenAt(h.api)).to.deep.equal([['a', h.bearer(1)]]);
    expect(tokenAt(other)).to.deep.equal([['b', undefined]]);
    await other.close();
  });

  it('lets ky retry a token error as it retries a network error, each attempt asking for a token again', async () => {
    h.spec.tokens.close();
    h.spec = specTokens({ retry: { count: 0 } });
    h.spec.source.rejects(new Error('source down'));
    const client = ky.create({ hooks: kyAuth(h.spec.tokens, { origins: [h.api.origin] }), retry: { limit: 2, delay: () => 0 } });
    const error = await client.get(h.api.origin).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TokenError);
    expect(h.spec.source.callCount).to.equal(3);
    expect(h.api.seen).to.deep.equal([]);
  });

  it('sends no token to another origin under prefixUrl, and asks for none', async () => {
    const other = await apiServer();
    const client = ky.create({ prefixUrl: other.origin, hooks: kyAuth(h.spec.tokens, { origins: [h.api.origin] }), throwHttpErrors: false });
    await client.get('?id=x');
    expect(tokenAt(other)).to.deep.equal([['x', undefined]]);
    expect(h.spec.source.callCount).to.equal(0);
    await other.close();
  });
});
