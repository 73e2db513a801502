import { expect } from 'chai';
import nodeFetch from 'node-fetch';
import { OAuthError, clientCredentials, memoryCredentialStore, refreshTokenGrant, type TokenSourceContext } from 'rx-token-stream';
import { CLIENT_ID, CLIENT_SECRET, send, tokenEndpoint } from './support.js';

describe('both OAuth sources, on node-fetch, when the signal aborts before the request is handed to it', () => {
  let endpoint: Awaited<ReturnType<typeof tokenEndpoint>>;
  before(async () => {
    endpoint = await tokenEndpoint((res) => send(res, 200, { access_token: 'at-1', token_type: 'Bearer', expires_in: 60 }));
  });
  after(() => endpoint.close());

  const sources = {
    clientCredentials: () => clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fetch: nodeFetch }),
    refreshTokenGrant: () => {
      const store = memoryCredentialStore();
      void store.put('user-1', { refreshToken: 'rt-abort-early' });
      return refreshTokenGrant({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, store, credentialKey: 'user-1', fetch: nodeFetch });
    },
  };
  for (const [name, make] of Object.entries(sources)) {
    // node-fetch v3, given a signal that has already aborted, destroys its request body
    // stream with an error that no one listens to: an uncaught exception, unless no request
    // is handed to it at all.
    it(`${name}: sends nothing and rejects with a retryable network OAuthError, without crashing the process`, async () => {
      const source = make();
      const received = endpoint.received.length;
      for (let turn = 0; turn < 5; turn += 1) {
        const controller = new AbortController();
        const context: TokenSourceContext = { signal: controller.signal, reason: 'initial', report: () => {} };
        const call = Promise.resolve(source(context));
        // oauth4webapi prepares the request over a few turns of the event loop.
        for (let wait = 0; wait < turn; wait += 1) await Promise.resolve();
        controller.abort();
        const error = await call.then(
          () => expect.fail('resolved'),
          (failure: unknown) => failure,
        );
        expect(error).to.be.instanceOf(OAuthError).and.include({ kind: 'network', retryable: true });
      }
      expect(endpoint.received.length - received).to.equal(0);
    });
  }
});
