import { expect } from 'chai';
import ky, { type KyResponse } from 'ky';
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

  it('sends the retry under ky’s timeout, which rejects with fetch’s TimeoutError there', async () => {
    const client = ky.create({ hooks: kyAuth(spec.tokens, { origins: [api.origin] }), timeout: 300, retry: 0 });
    await spec.tokens.getToken();
    const arrived = api.arrival('slow');
    const pending = client.get(`${api.origin}/?id=slow`).catch((e: unknown) => e);
    // The first attempt is answered (401) at once; the retry is held, and never answered.
    await arrived;
    api.hold('slow');
    const error = await pending;
    expect(error).to.be.instanceOf(DOMException).with.property('name', 'TimeoutError');
    expect(tokenAt(api)).to.deep.equal([['slow', bearer(1)], ['slow', bearer(2)]]);
  });

  it('leaves no token in ky’s own TimeoutError, whose request it aborted', async () => {
    const client = ky.create({ hooks: kyAuth(spec.tokens, { origins: [api.origin] }), timeout: 100, retry: 0 });
    api.accepted.add(spec.value(1));
    api.hold('held');
    const error = await client.get(`${api.origin}/?id=held`).catch((e: unknown) => e);
    expect((error as Error).name).to.equal('TimeoutError');
    expectNoSecret(error, spec.value(1), "ky's TimeoutError");
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
