import { expect } from 'chai';
import { TokenStream, refreshTokenGrant, type CredentialStore } from 'rx-token-stream';
import { CLIENT_ID, CLIENT_SECRET, send, tokenEndpoint } from '../oauth2/support.js';
import { STORE_KINDS, storeOfKind } from './stores.js';
import { rejectionOf } from './support.js';

const KEY = 'user-3';

for (const kind of STORE_KINDS) describe(`refreshTokenGrant never turns a terminal answer into a storm on the ${kind} store`, () => {
  const stores = storeOfKind(kind);
  let endpoint: Awaited<ReturnType<typeof tokenEndpoint>>;
  let store: CredentialStore;
  before(async () => {
    endpoint = await tokenEndpoint((res) => send(res, 400, { error: 'invalid_grant' }));
  });
  after(() => endpoint?.close());
  beforeEach(async () => {
    endpoint.received.splice(0);
    store = stores.open();
    await store.put(KEY, { refreshToken: 'rt-storm-1' });
  });

  it('asks once when invalid_grant meets a credential that other client settings marked refused', async () => {
    // Another deploy (other client settings) got invalid_client for this credential.
    const fence = (await store.lease(KEY, 1_000)) as number;
    await store.fail(KEY, { version: 1, fence }, { reason: 'refused', error: 'invalid_client', client: 'another-deploy' });
    const source = refreshTokenGrant({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, store, credentialKey: KEY, leaseMs: 1_000 });
    const tokens = new TokenStream({ source, retry: { count: 0 } });
    const error = (await rejectionOf(tokens.getToken())) as Error;
    tokens.close();

    expect(error.cause).to.include({ kind: 'reauth-required' });
    expect(endpoint.received).to.have.length(1);
    expect((await store.get(KEY))?.failure).to.deep.equal({ reason: 'reauth-required' });
  });
});
