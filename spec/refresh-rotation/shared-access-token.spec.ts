import { expect } from 'chai';
import { memoryCredentialStore, refreshTokenGrant, type TokenSourceContext } from 'rx-token-stream';
import { CLIENT_ID, CLIENT_SECRET, send, tokenEndpoint, virtualClock } from '../oauth2/support.js';

const context = (): TokenSourceContext => ({ signal: new AbortController().signal, reason: 'initial', report: () => {}, key: 'user-1' });

describe('refreshTokenGrant: the access token a rotation saved', () => {
  let endpoint: Awaited<ReturnType<typeof tokenEndpoint>>;
  let lifetimeS = 0.8;
  before(async () => {
    endpoint = await tokenEndpoint((res, index) =>
      send(res, 200, { access_token: `AT-${index + 1}`, token_type: 'Bearer', expires_in: lifetimeS, refresh_token: `RT-${index + 2}` }),
    );
  });
  after(() => endpoint.close());

  for (const seconds of [0.8, 3_600]) {
    it(`is taken by another process rather than rotated again, for a token of ${seconds} s`, async () => {
      lifetimeS = seconds;
      const before = endpoint.received.length;
      const { scheduler } = virtualClock(Date.UTC(2030, 0, 1));
      const store = memoryCredentialStore({ scheduler });
      await store.put('user-1', { refreshToken: 'RT-1' });
      // Two processes: two sources on one store.
      const options = { tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, store, scheduler };
      const first = await refreshTokenGrant(options)(context());
      const second = await refreshTokenGrant(options)(context());
      expect(second.value).to.equal(first.value);
      expect(endpoint.received.length - before).to.equal(1);
    });
  }
});
