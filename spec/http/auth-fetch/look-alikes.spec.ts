import { expect } from 'chai';
import sinon from 'sinon';
import { TokenStream, authFetch, type Token } from 'rx-token-stream';
import { recording, reply, routedTo, type RecordingServer } from './support.js';

// Every request below reaches one loopback server, whatever host its URL names (see
// routedTo), so the only thing that decides whether it carries the token is authFetch's
// origin check, which compares the origin the URL parser makes of it: scheme, host, port.

describe('authFetch against look-alike origins', () => {
  let server: RecordingServer;
  let agent: ReturnType<typeof routedTo>;
  let tokens: TokenStream;
  let source: sinon.SinonStub;

  before(async () => {
    server = await recording((_req, res) => reply(res, 200));
    agent = routedTo(server);
  });
  after(async () => {
    agent.destroy();
    await server.close();
  });
  beforeEach(() => {
    source = sinon.stub().callsFake(async (): Promise<Token> => ({ value: 't1' }));
    tokens = new TokenStream({ source });
    server.received.length = 0;
  });
  afterEach(() => tokens.close());

  const fetchVia = () =>
    authFetch(tokens, { origins: ['http://api.example.test', 'http://bücher.example'], allowInsecureHttp: true });

  it('sends no token to a host, port or scheme that only looks like an allowed origin', async () => {
    const fetch = fetchVia();
    const lookAlikes = [
      'http://api.example.test./',
      'http://api.example.test.evil.test/',
      'http://api.example.test%2eevil.test/',
      'http://api-example.test/',
      'http://evil.test/?http://api.example.test',
      'http://evil.test/http://api.example.test/',
      'http://api.example.test:8080/',
      'http://api.example.test:443/',
      'http://bucher.example/',
    ];
    for (const url of lookAlikes) expect((await fetch(url, { agent })).status, url).to.equal(200);
    expect(server.received.map((r) => [r.headers.host, r.headers.authorization])).to.deep.equal(
      lookAlikes.map((url) => [new URL(url).host, undefined]),
    );
    expect(source.callCount).to.equal(0);
  });

  it('hands a URL whose user info names the allowed host to the wrapped fetch untouched, which refuses it', async () => {
    const error = await fetchVia()('http://api.example.test@evil.test/', { agent }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TypeError);
    expect(server.received).to.deep.equal([]);
    expect(source.callCount).to.equal(0);
  });

  it('hands a blob: URL that wraps an allowed origin to the wrapped fetch untouched, without asking for a token', async () => {
    const error = await fetchVia()('blob:http://api.example.test/0a1b', { agent }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Error);
    expect(server.received).to.deep.equal([]);
    expect(source.callCount).to.equal(0);
  });

  it('sends no token over https to an origin allowed over http', async () => {
    await fetchVia()('https://api.example.test/', { agent: () => agent }).catch(() => undefined);
    expect(server.received).to.deep.equal([]);
    expect(source.callCount).to.equal(0);
  });

  it('sends the token to every spelling of an allowed origin: case, default port, Unicode or punycode host', async () => {
    const fetch = fetchVia();
    const spellings = ['http://API.Example.TEST/', 'http://api.example.test:80/', 'http://BÜCHER.example/', 'http://xn--bcher-kva.example/'];
    for (const url of spellings) await fetch(url, { agent });
    expect(server.received.map((r) => [r.headers.host, r.headers.authorization])).to.deep.equal([
      ['api.example.test', 'Bearer t1'],
      ['api.example.test', 'Bearer t1'],
      ['xn--bcher-kva.example', 'Bearer t1'],
      ['xn--bcher-kva.example', 'Bearer t1'],
    ]);
  });
});
