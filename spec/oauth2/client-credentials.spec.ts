import { expect } from 'chai';
import { OAuth2Server } from 'oauth2-mock-server';
import { TokenStream, clientCredentials, type TokenEvent } from 'rx-token-stream';
import { CLIENT_ID, CLIENT_SECRET, virtualClock } from './support.js';

interface Seen {
  authorization: string | undefined;
  body: Record<string, string>;
}

function claims(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('clientCredentials against a real OAuth2 server (oauth2-mock-server)', () => {
  const server = new OAuth2Server();
  let tokenUrl: string;
  let seen: Seen[];
  // What each response says about expiry; `undefined` keeps the server's 3600 s.
  let expiresIn: number | undefined;
  // Runs while the server handles a request: lets a spec move the clock "during" the trip.
  let duringRequest: () => void;

  before(async () => {
    await server.issuer.keys.generate('RS256');
    await server.start(0, '127.0.0.1');
    tokenUrl = `${server.issuer.url}/token`;
    // The server's tokens only differ by the second they were made in: number them.
    let signed = 0;
    server.service.on('beforeTokenSigning', (token) => {
      token.payload['jti'] = `token-${++signed}`;
    });
    server.service.on('beforeResponse', (response, req) => {
      seen.push({ authorization: req.headers.authorization, body: { ...(req.body as Record<string, string>) } });
      if (expiresIn !== undefined) (response.body as Record<string, unknown>)['expires_in'] = expiresIn;
      duringRequest();
    });
  });
  beforeEach(() => {
    seen = [];
    expiresIn = undefined;
    duringRequest = () => {};
  });
  after(() => server.stop());

  it('delivers a signed Bearer token whose expiry counts from when the request was sent', async () => {
    const { scheduler } = virtualClock(1_000_000);
    // The reply "takes" 2.5 s: a lifetime counted from its arrival would be 2.5 s too long.
    duringRequest = () => (scheduler.frame += 2_500);
    const source = clientCredentials({ tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scope: ['reports:read', 'reports:write'], scheduler });

    const tokens = new TokenStream({ source, scheduler });
    const token = await tokens.getToken();
    tokens.close();

    expect(token.type).to.equal('Bearer');
    expect(token.expiresAt).to.equal(1_000_000 + 3_600_000);
    expect(claims(token.value)).to.include({ iss: server.issuer.url, scope: 'reports:read reports:write' });
    expect(seen).to.have.length(1);
    expect(seen[0]?.body).to.include({ grant_type: 'client_credentials', scope: 'reports:read reports:write' });
    const basic = Buffer.from(seen[0]?.authorization?.replace(/^Basic /, '') ?? '', 'base64').toString('utf8');
    expect(basic.split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' ')))).to.deep.equal([CLIENT_ID, CLIENT_SECRET]);
  });

  it('serves 1,000 concurrent demands with one token request', async () => {
    const tokens = new TokenStream({ source: clientCredentials({ tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }) });
    const all = await Promise.all(Array.from({ length: 1_000 }, () => tokens.getToken()));
    tokens.close();

    expect(seen).to.have.length(1);
    expect(new Set(all.map((token) => token.value)).size).to.equal(1);
  });

  it("asks again when the server's expires_in runs out, not before", async () => {
    const { scheduler, advanceTo } = virtualClock();
    expiresIn = 60;
    const source = clientCredentials({ tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scheduler });
    // No early background refresh: the expiry alone drives the next request.
    const tokens = new TokenStream({ source, scheduler, refreshWindowMs: 0 });
    const starts: TokenEvent[] = [];
    tokens.events$.subscribe((event) => event.type === 'refresh-start' && starts.push(event));

    const first = await tokens.getToken();
    expect(first.expiresAt).to.equal(60_000);
    advanceTo(59_999);
    expect(await tokens.getToken()).to.equal(first);
    expect(seen).to.have.length(1);

    advanceTo(60_000);
    const second = await tokens.getToken();
    tokens.close();

    expect(seen).to.have.length(2);
    expect(second.value).not.to.equal(first.value);
    expect(second.expiresAt).to.equal(120_000);
    expect(starts.map((event) => event.type === 'refresh-start' && event.reason)).to.deep.equal(['initial', 'expired']);
  });
});
