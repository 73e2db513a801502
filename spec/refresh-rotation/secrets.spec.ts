import { expect } from 'chai';
import type { ServerResponse } from 'node:http';
import {
  TokenStream,
  refreshTokenGrant,
  type CredentialStore,
  type RefreshTokenGrantOptions,
  type TokenEvent,
} from 'rx-token-stream';
import { CLIENT_ID, CLIENT_SECRET, SECRET_FORMS, send, tokenEndpoint, type Received } from '../oauth2/support.js';
import { STORE_KINDS, storeOfKind } from './stores.js';
import { expectNoSecrets, rejectionOf, wrapStore } from './support.js';

const KEY = 'user-9';
// Characters that every encoding spells differently.
const REFRESH_TOKEN = 'rt-echo/must+not=leak:9 x';
const ROTATED = 'rt-rotated/must+not=leak:10';
const ACCESS_TOKEN = 'at-echo-must-not-leak-77';
const forms = (secret: string): string[] => [secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)];
const SECRETS = [...SECRET_FORMS, ...forms(REFRESH_TOKEN), ...forms(ROTATED), ACCESS_TOKEN];

/** Everything the request carried: the Basic credential and the form body with the refresh token. */
const echoOf = ({ headers, body }: Received): string => `${headers.authorization ?? ''} ${body.toString()} ${body.get('refresh_token') ?? ''}`;

for (const kind of STORE_KINDS) describe(`refreshTokenGrant keeps refresh tokens, access tokens and the client secret out of errors and events on the ${kind} store`, () => {
  const stores = storeOfKind(kind);
  let answer: (res: ServerResponse, request: Received) => void;
  let endpoint: Awaited<ReturnType<typeof tokenEndpoint>>;
  let store: CredentialStore;
  let streams: TokenStream[];
  before(async () => {
    endpoint = await tokenEndpoint((res, _index, request) => answer(res, request));
  });
  after(() => endpoint?.close());
  beforeEach(async () => {
    endpoint.received.splice(0);
    store = stores.open();
    await store.put(KEY, { refreshToken: REFRESH_TOKEN });
    streams = [];
  });
  afterEach(() => {
    for (const stream of streams) stream.close();
  });

  const open = (options: Partial<RefreshTokenGrantOptions> = {}, events: TokenEvent[] = []): TokenStream => {
    const source = refreshTokenGrant({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, store, credentialKey: KEY, ...options });
    const stream = new TokenStream({ source, retry: { count: 1, delayMs: 0, jitter: 0 } });
    stream.events$.subscribe((event) => events.push(event));
    streams.push(stream);
    return stream;
  };

  for (const clientAuth of ['basic', 'post'] as const) {
    it(`redacts a request echoed into an invalid_grant, a 503 and their events (clientAuth '${clientAuth}')`, async () => {
      answer = (res, request) => send(res, 503, { error: 'temporarily_unavailable', error_description: `busy: ${echoOf(request)}` });
      const events: TokenEvent[] = [];
      const busy = await rejectionOf(open({ clientAuth }, events).getToken());
      answer = (res, request) => send(res, 400, { error: 'invalid_grant', error_description: `refused: ${echoOf(request)}` });
      const refused = await rejectionOf(open({ clientAuth }, events).getToken());

      expect(endpoint.received.map((request) => request.body.get('refresh_token'))).to.deep.equal([REFRESH_TOKEN, REFRESH_TOKEN, REFRESH_TOKEN]);
      expect((busy as Error).cause).to.include({ status: 503, retryable: true });
      expect((refused as Error).cause).to.include({ kind: 'reauth-required' });
      expect(events.map((event) => event.type)).to.include.members(['refresh-retry', 'refresh-failure', 'source']);
      expectNoSecrets([busy, refused, events, await store.get(KEY)], SECRETS);
    });
  }

  it("asks a failing store twice to save a rotation, then hands out the token and reports the store's error, redacted", async () => {
    answer = (res) => send(res, 200, { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 60, refresh_token: ROTATED });
    let saves = 0;
    store = wrapStore(store, {
      save: async (_key, _expected, next) => {
        saves += 1;
        throw Object.assign(new Error(`INSERT failed for ${next.refreshToken} / ${next.accessToken?.value ?? ''}`), { params: next, code: 'ESTORE' });
      },
    });
    const events: TokenEvent[] = [];
    const token = await open({}, events).getToken();
    expect(token.value, 'the IdP answered: its token is good').to.equal(ACCESS_TOKEN);
    expect(saves).to.equal(2);
    const failed = events.flatMap((event) => (event.type === 'source' ? [event.report] : []));
    expect(failed).to.deep.equal([
      { kind: 'credential-save-failed', detail: 'Credential store failed to save the rotated credential: INSERT failed for [redacted] / [redacted]' },
    ]);
    expectNoSecrets([events], SECRETS);
  });

  it('takes a save whose acknowledgement was lost as made, when the store holds the rotated refresh token', async () => {
    answer = (res) => send(res, 200, { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 60, refresh_token: ROTATED });
    const inner = store;
    store = wrapStore(inner, {
      save: async (...args) => {
        await inner.save(...args);
        throw new Error('connection reset before the reply');
      },
    });
    const events: TokenEvent[] = [];
    expect((await open({}, events).getToken()).value).to.equal(ACCESS_TOKEN);
    expect(await inner.get(KEY)).to.deep.include({ refreshToken: ROTATED, version: 2 });
    expect(events.filter((event) => event.type === 'source')).to.deep.equal([]);
  });

  it('takes a save made on the first attempt as made, when its acknowledgement was lost and the read in between failed too', async () => {
    answer = (res) => send(res, 200, { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 60, refresh_token: ROTATED });
    const inner = store;
    let saves = 0;
    let failReads = false;
    store = wrapStore(inner, {
      get: async (key) => {
        if (failReads) {
          failReads = false;
          throw new Error('connection reset');
        }
        return inner.get(key);
      },
      save: async (...args) => {
        saves += 1;
        const saved = await inner.save(...args);
        if (saves > 1) return saved;
        failReads = true;
        throw new Error('connection reset before the reply');
      },
    });
    const events: TokenEvent[] = [];
    expect((await open({}, events).getToken()).value).to.equal(ACCESS_TOKEN);
    expect(saves).to.equal(2);
    expect(await inner.get(KEY)).to.deep.include({ refreshToken: ROTATED, version: 2 });
    expect(events.filter((event) => event.type === 'source')).to.deep.equal([]);
  });

  it('does not retry a store failure the store calls final (retryable: false)', async () => {
    let reads = 0;
    store = wrapStore(store, {
      get: async () => {
        reads += 1;
        throw Object.assign(new Error('the table does not exist: run store.migrate() once'), { retryable: false });
      },
    });
    const error = await rejectionOf(open().getToken());
    expect(reads).to.equal(1);
    expect((error as Error).cause).to.include({ name: 'CredentialStoreError', retryable: false });
  });

  it('saves the rotated refresh token of a 200 whose access token it refuses: the family lives on, and nothing leaks', async () => {
    answer = (res) => send(res, 200, { access_token: ACCESS_TOKEN, token_type: 'DPoP', expires_in: 60, refresh_token: ROTATED });
    const error = await rejectionOf(open().getToken());
    expect((error as Error).cause).to.include({ kind: 'invalid-token-response', retryable: false });
    expect(await store.get(KEY)).to.deep.include({ refreshToken: ROTATED, version: 2 });
    expect((await store.get(KEY))?.accessToken).to.equal(undefined);
    expectNoSecrets([error], SECRETS);
  });
});
