import { expect } from 'chai';
import {
  OAuthError,
  TokenStreams,
  refreshTokenGrant,
  type CredentialStore,
  type KeyedTokenEvent,
  type RefreshTokenGrantOptions,
  type TokenFetch,
} from 'rx-token-stream';
import { virtualClock } from '../oauth2/support.js';
import { CLIENT_ID, CLIENT_SECRET, PUBLIC_CLIENT_ID, startProvider, type RotatingProvider } from './provider.js';
import { STORE_KINDS, storeOfKind } from './stores.js';
import { recordingStore, rejectionOf, reports } from './support.js';

const KEY = 'user-42';

for (const kind of STORE_KINDS) describe(`refreshTokenGrant against a real authorization server (oidc-provider, rotation on) on the ${kind} store`, () => {
  const stores = storeOfKind(kind);
  let provider: RotatingProvider;
  let clock: ReturnType<typeof virtualClock>;
  let store: CredentialStore;
  let saves: string[];
  let streams: TokenStreams[];
  let events: KeyedTokenEvent[];

  before(async () => {
    provider = await startProvider();
  });
  after(() => provider?.close());
  beforeEach(() => {
    provider.reset();
    provider.beforeGrant = undefined;
    clock = virtualClock(1_700_000_000_000);
    saves = [];
    store = recordingStore(stores.open({ scheduler: clock.scheduler }), saves);
    streams = [];
    events = [];
  });
  afterEach(() => {
    for (const stream of streams) stream.close();
  });

  // A public client: no clientSecret at all.
  const open = (options: Partial<RefreshTokenGrantOptions> = {}, publicClient = false): TokenStreams => {
    const { scheduler } = clock;
    const client = publicClient ? { clientId: PUBLIC_CLIENT_ID } : { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };
    const source = refreshTokenGrant({ tokenUrl: provider.tokenUrl, ...client, store, scheduler, ...options });
    const made = new TokenStreams({ source, scheduler, retry: { delayMs: 0, jitter: 0 } });
    made.events$.subscribe((event) => events.push(event));
    streams.push(made);
    return made;
  };
  const demands = (tokens: TokenStreams, count: number): Promise<string[]> =>
    Promise.all(Array.from({ length: count }, () => tokens.getToken(KEY).then((token) => token.value)));

  it('makes 1 grant request for 1,000 concurrent demands on an expired access token, and saves before any waiter gets it', async () => {
    await store.put(KEY, { refreshToken: (await provider.mint()).refreshToken });
    const tokens = open();
    const first = await tokens.getToken(KEY);
    expect(first.expiresAt).to.equal(1_700_000_000_000 + 60_000);
    clock.advanceTo(first.expiresAt as number);

    const order: string[] = saves;
    const values = await Promise.all(
      Array.from({ length: 1_000 }, () =>
        tokens.getToken(KEY).then((token) => {
          order.push('got');
          return token.value;
        }),
      ),
    );

    expect(provider.counts).to.deep.include({ grantRequests: 2, rotations: 2, reuses: 0, revocations: 0 });
    expect(new Set(values)).to.have.property('size', 1);
    expect(values[0]).to.not.equal(first.value);
    expect(order.slice(0, 2)).to.deep.equal(['saved', 'saved']);
    expect(order.filter((entry) => entry === 'got')).to.have.length(1_000);
    expect(await store.get(KEY)).to.deep.include({ version: 3 });
    expect((await store.get(KEY))?.accessToken?.value).to.equal(values[0]);
  });

  it('hands the access token a rotation saved to another stream on the same store, without a request', async () => {
    await store.put(KEY, { refreshToken: (await provider.mint()).refreshToken });
    const [one, two] = [open(), open()];
    const fromOne = await one.getToken(KEY);
    const fromTwo = await two.getToken(KEY);
    expect(fromTwo.value).to.equal(fromOne.value);
    expect(provider.counts.grantRequests).to.equal(1);
    // A 401 in the second one rotates once; the first takes the new token from the store.
    two.invalidate(KEY, fromTwo);
    const next = await two.getToken(KEY);
    one.invalidate(KEY, fromOne);
    expect((await one.getToken(KEY)).value).to.equal(next.value);
    expect(provider.counts).to.deep.include({ grantRequests: 2, rotations: 2, reuses: 0, revocations: 0 });
  });

  it('reads the store again on invalid_grant and presents the newer refresh token: a lost race reaches no caller', async () => {
    const old = await provider.mint();
    await store.put(KEY, { refreshToken: old.refreshToken });
    const renewed = await provider.mint();
    // While the old refresh token is on its way, its grant is revoked and the user's new
    // consent is put: the request arrives with a refresh token that is no longer current.
    provider.beforeGrant = async () => {
      provider.beforeGrant = undefined;
      await provider.revoke(old.grantId);
      await store.put(KEY, { refreshToken: renewed.refreshToken });
    };
    const tokens = open();
    const token = await tokens.getToken(KEY);

    expect(token.value).to.be.a('string');
    expect(provider.counts).to.deep.include({ grantRequests: 2, rotations: 1 });
    expect(provider.counts.refusals).to.have.length(1);
    expect(events.filter((event) => event.type === 'refresh-retry' || event.type === 'refresh-failure')).to.deep.equal([]);
    expect(reports(events)).to.deep.equal([]);
    expect(await store.get(KEY)).to.deep.include({ version: 3 });
  });

  it('marks a refused refresh token reauth-required: one event, every demand fails at once, no request until store.put', async () => {
    const family = await provider.mint();
    await store.put(KEY, { refreshToken: family.refreshToken });
    await provider.revoke(family.grantId);
    const tokens = open();

    const error = await rejectionOf(tokens.getToken(KEY));
    expect(error).to.include({ code: 'ERR_TOKEN_REFRESH', attempts: 1 });
    const cause = (error as Error).cause;
    expect(cause).to.be.instanceOf(OAuthError).and.include({ kind: 'reauth-required', error: 'invalid_grant', retryable: false });
    expect(provider.counts.grantRequests).to.equal(1);

    for (let round = 0; round < 4; round += 1) {
      const failures = await Promise.all(Array.from({ length: 250 }, () => rejectionOf(tokens.getToken(KEY))));
      for (const failure of failures) expect((failure as Error).cause).to.include({ kind: 'reauth-required' });
    }
    const other = open();
    expect(((await rejectionOf(other.getToken(KEY))) as Error).cause, 'another stream on the store').to.include({ kind: 'reauth-required' });
    expect(provider.counts.grantRequests).to.equal(1);
    expect(reports(events)).to.deep.equal(['reauth-required']);
    expect(events.filter((event) => event.type === 'refresh-retry')).to.deep.equal([]);

    await store.put(KEY, { refreshToken: (await provider.mint()).refreshToken });
    expect((await tokens.getToken(KEY)).value).to.be.a('string');
    expect(provider.counts).to.deep.include({ grantRequests: 2, rotations: 1 });
  });

  it('never asks again after invalid_client with the same client settings, in this stream or another; new settings do', async () => {
    await store.put(KEY, { refreshToken: (await provider.mint()).refreshToken });
    const wrong = open({ clientSecret: 'a-wrong-secret-of-the-client' });
    const error = await rejectionOf(wrong.getToken(KEY));
    expect((error as Error).cause).to.be.instanceOf(OAuthError).and.include({ kind: 'error-response', error: 'invalid_client', retryable: false });
    expect(provider.counts.grantRequests).to.equal(1);

    for (const tokens of [wrong, open({ clientSecret: 'a-wrong-secret-of-the-client' })]) {
      const again = await rejectionOf(tokens.getToken(KEY));
      expect((again as Error).cause).to.include({ error: 'invalid_client', retryable: false });
    }
    expect(provider.counts.grantRequests).to.equal(1);

    // A deploy with the right secret: it tries, rotates, and clears the mark.
    expect((await open().getToken(KEY)).value).to.be.a('string');
    expect(provider.counts).to.deep.include({ grantRequests: 2, rotations: 1, reuses: 0, revocations: 0 });
    expect((await store.get(KEY))?.failure).to.equal(undefined);
  });

  it('rotates for a public client (clientAuth none)', async () => {
    await store.put(KEY, { refreshToken: (await provider.mint({ clientId: PUBLIC_CLIENT_ID })).refreshToken });
    const tokens = open({}, true);
    const first = await tokens.getToken(KEY);
    tokens.invalidate(KEY, first);
    expect((await tokens.getToken(KEY)).value).to.not.equal(first.value);
    expect(provider.counts).to.deep.include({ grantRequests: 2, rotations: 2, reuses: 0 });
  });

  it('keeps a rotation whose answer holds an id_token that oauth4webapi would refuse (ES256, not the RS256 it expects)', async () => {
    await store.put(KEY, { refreshToken: (await provider.mint()).refreshToken });
    const idTokens: string[] = [];
    const fetch: TokenFetch = async (url, init) => {
      const response = await globalThis.fetch(url, init);
      const body = (await response.clone().json()) as { id_token?: string };
      if (body.id_token !== undefined) idTokens.push(JSON.parse(Buffer.from(body.id_token.split('.')[0] ?? '', 'base64url').toString()).alg);
      return response;
    };
    const tokens = open({ fetch });
    const first = await tokens.getToken(KEY);
    tokens.invalidate(KEY, first);
    await tokens.getToken(KEY);
    expect(idTokens).to.deep.equal(['ES256', 'ES256']);
    expect(provider.counts).to.deep.include({ grantRequests: 2, rotations: 2, reuses: 0 });
    expect(await store.get(KEY)).to.deep.include({ version: 3 });
  });
});
