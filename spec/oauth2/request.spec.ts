import { expect } from 'chai';
import { inspect } from 'node:util';
import { TokenStream, authFetch, clientCredentials, type ClientCredentialsOptions, type TokenSourceContext } from 'rx-token-stream';
import { CLIENT_SECRET, expectNoSecrets, send, tokenEndpoint } from './support.js';

const throws = (call: () => unknown): boolean => {
  try {
    call();
    return false;
  } catch (error) {
    expect(error).to.be.instanceOf(TypeError);
    return true;
  }
};
const context = (): TokenSourceContext => ({ signal: new AbortController().signal, reason: 'initial', report: () => {} });

describe('clientCredentials request (RFC 6749 4.4.2, 2.3.1) and options', () => {
  let endpoint: Awaited<ReturnType<typeof tokenEndpoint>>;
  before(async () => {
    endpoint = await tokenEndpoint((res) => send(res, 200, { access_token: 'a-token', token_type: 'Bearer', expires_in: 60 }));
  });
  beforeEach(() => endpoint.received.splice(0));
  after(() => endpoint.close());

  // Characters that RFC 6749 2.3.1 says to form-encode before Basic: a naive btoa(id:secret) breaks on ':'.
  const clientId = 'reports client:eu';

  it('sends Basic credentials, form-encoded before base64 (the default)', async () => {
    await clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId, clientSecret: CLIENT_SECRET })(context());

    const [request] = endpoint.received;
    const basic = Buffer.from(String(request?.headers.authorization).replace(/^Basic /, ''), 'base64').toString('utf8');
    const [id, secret] = basic.split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
    expect([id, secret]).to.deep.equal([clientId, CLIENT_SECRET]);
    expect([...(request?.body ?? [])]).to.deep.equal([['grant_type', 'client_credentials']]);
    expect(request?.headers['content-type']).to.match(/^application\/x-www-form-urlencoded/);
    expect(request?.headers.accept).to.equal('application/json');
  });

  it("sends client_id and client_secret in the body with clientAuth: 'post', plus scope and audience", async () => {
    await clientCredentials({
      tokenUrl: endpoint.tokenUrl,
      clientId,
      clientSecret: CLIENT_SECRET,
      clientAuth: 'post',
      scope: 'reports:read',
      audience: 'https://api.example.com',
    })(context());

    const [request] = endpoint.received;
    expect(request?.headers.authorization).to.equal(undefined);
    expect(Object.fromEntries(request?.body ?? [])).to.deep.equal({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: CLIENT_SECRET,
      scope: 'reports:read',
      audience: 'https://api.example.com',
    });
  });

  it('takes the global fetch as well as node-fetch', async () => {
    const token = await clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId, clientSecret: CLIENT_SECRET, fetch: globalThis.fetch })(context());
    expect(token.value).to.equal('a-token');
    expect(endpoint.received).to.have.length(1);
  });

  describe('never follows a redirect from the token endpoint (the request says redirect: manual)', () => {
    for (const [name, fetch] of [['node-fetch', undefined], ['the global fetch', globalThis.fetch]] as const) {
      for (const status of [302, 307, 308]) {
        it(`${status} with ${name}: a final http-status error that keeps nothing of the Location`, async () => {
          const elsewhere = await tokenEndpoint((res) => send(res, 200, { access_token: 'stolen', token_type: 'Bearer' }));
          const location = `${elsewhere.tokenUrl}?client_secret=${encodeURIComponent(CLIENT_SECRET)}&session=s3ss10n-l34k`;
          const redirecting = await tokenEndpoint((res) => res.writeHead(status, { location }).end());
          const source = clientCredentials({ tokenUrl: redirecting.tokenUrl, clientId: 'id', clientSecret: CLIENT_SECRET, ...(fetch === undefined ? {} : { fetch }) });

          const error: unknown = await Promise.resolve(source(context())).then(() => expect.fail('the source resolved'), (failure: unknown) => failure);
          await Promise.all([elsewhere.close(), redirecting.close()]);

          expect(error).to.include({ kind: 'http-status', status, retryable: false });
          expect([redirecting.received.length, elsewhere.received.length]).to.deep.equal([1, 0]);
          for (const view of [inspect(error, { depth: Infinity, showHidden: true }), JSON.stringify(error)]) {
            expect(view).not.to.include('s3ss10n-l34k').and.not.to.include(elsewhere.origin);
          }
          expectNoSecrets(error);
        });
      }
    }
  });

  describe('rejects bad options at once with a TypeError naming the option, never echoing the secret', () => {
    const good: ClientCredentialsOptions = { tokenUrl: 'https://auth.example.com/token', clientId: 'id', clientSecret: CLIENT_SECRET };
    const cases: [string, Partial<Record<keyof ClientCredentialsOptions, unknown>>][] = [
      ['tokenUrl', { tokenUrl: 'not a url' }],
      ['tokenUrl', { tokenUrl: 'http://auth.example.com/token' }],
      ['tokenUrl', { tokenUrl: `https://id:${CLIENT_SECRET}@auth.example.com/token` }],
      ['tokenUrl', { tokenUrl: 'https://auth.example.com/token#x' }],
      ['tokenUrl', { tokenUrl: 'ftp://auth.example.com/token' }],
      ['clientId', { clientId: '' }],
      ['clientSecret', { clientSecret: undefined }],
      ['scope', { scope: [] }],
      ['scope', { scope: ['ok', ''] }],
      ['audience', { audience: 42 }],
      ['clientAuth', { clientAuth: 'jwt' }],
      ['fetch', { fetch: 'node-fetch' }],
      ['scheduler', { scheduler: {} }],
      ['defaultExpiresInMs', { defaultExpiresInMs: 0 }],
      ['defaultExpiresInMs', { defaultExpiresInMs: Number.NaN }],
      ['maxRetryAfterMs', { maxRetryAfterMs: -1 }],
      ['maxResponseBytes', { maxResponseBytes: 0 }],
      ['maxResponseBytes', { maxResponseBytes: 1.5 }],
      ['maxResponseBytes', { maxResponseBytes: 2 ** 60 }],
      ['maxResponseBytes', { maxResponseBytes: '1024' }],
      ['allowHttp', { allowHttp: 'yes' }],
    ];
    for (const [name, patch] of cases) {
      it(`${name}: ${JSON.stringify(patch).replace(CLIENT_SECRET, '<secret>')}`, () => {
        expect(() => clientCredentials({ ...good, ...patch } as ClientCredentialsOptions))
          .to.throw(TypeError, `clientCredentials: option \`${name}\``)
          .with.property('message')
          .that.does.not.include(CLIENT_SECRET);
      });
    }

    it('allows http: on loopback hosts, and elsewhere only with allowHttp', () => {
      for (const tokenUrl of ['http://127.0.0.1:8080/token', 'http://localhost/token', 'http://[::1]/token']) {
        expect(() => clientCredentials({ ...good, tokenUrl })).not.to.throw();
      }
      expect(() => clientCredentials({ ...good, tokenUrl: 'http://auth.internal/token', allowHttp: true })).not.to.throw();
    });

    it('takes http: on exactly the hosts authFetch takes as loopback: one rule for both', () => {
      const tokens = new TokenStream({ source: () => Promise.resolve({ value: 'unused' }) });
      const loopback = ['localhost', 'LOCALHOST', '127.0.0.1', '127.255.0.9', '127.1', '0x7f.1', '2130706433', '[::1]', '[0:0:0:0:0:0:0:1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]'];
      const remote = ['128.0.0.1', '10.0.0.1', '0.0.0.0', 'localhost.example.com', '127.0.0.1.nip.io', '[::2]', '[::]', '[::ffff:10.0.0.1]', 'example.com'];
      const accepts = (host: string) => ({
        authFetch: !throws(() => authFetch(tokens, { origins: [`http://${host}:8080`] })),
        clientCredentials: !throws(() => clientCredentials({ ...good, tokenUrl: `http://${host}:8080/token` })),
      });
      for (const host of loopback) expect(accepts(host), host).to.deep.equal({ authFetch: true, clientCredentials: true });
      for (const host of remote) expect(accepts(host), host).to.deep.equal({ authFetch: false, clientCredentials: false });
      tokens.close();
    });
  });
});
