import { expect } from 'chai';
import { TokenStreams, memoryCredentialStore, refreshTokenGrant, type TokenSourceContext } from 'rx-token-stream';
import { STORE_KINDS, storeOfKind } from './stores.js';
import { wrapStore } from './support.js';
import { CLIENT_ID, CLIENT_SECRET, send, tokenEndpoint, virtualClock } from '../oauth2/support.js';

const context = (): TokenSourceContext => ({ signal: new AbortController().signal, reason: 'initial', report: () => {}, key: 'user-1' });

for (const kind of STORE_KINDS) describe(`refreshTokenGrant: the access token a rotation saved on the ${kind} store`, () => {
  const stores = storeOfKind(kind);
  let endpoint: Awaited<ReturnType<typeof tokenEndpoint>>;
  let lifetimeS = 0.8;
  before(async () => {
    endpoint = await tokenEndpoint((res, index) =>
      send(res, 200, { access_token: `AT-${index + 1}`, token_type: 'Bearer', expires_in: lifetimeS, refresh_token: `RT-${index + 2}` }),
    );
  });
  after(() => endpoint?.close());

  for (const seconds of [0.8, 3_600]) {
    it(`is taken by another process rather than rotated again, for a token of ${seconds} s`, async () => {
      lifetimeS = seconds;
      const before = endpoint.received.length;
      const { scheduler } = virtualClock(Date.UTC(2030, 0, 1));
      const store = stores.open({ scheduler });
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

describe("refreshTokenGrant: the lease follows the stream's deadline", () => {
  let endpoint: Awaited<ReturnType<typeof tokenEndpoint>>;
  before(async () => {
    endpoint = await tokenEndpoint((res, index) =>
      send(res, 200, { access_token: `AT-${index + 1}`, token_type: 'Bearer', expires_in: 60, refresh_token: `RT-${index + 2}` }),
    );
  });
  after(() => endpoint.close());

  /** The ttlMs of each lease the source takes, for one token. */
  const leases = async (options: { timeoutMs?: number; reuseGraceMs?: number }): Promise<number[]> => {
    const inner = memoryCredentialStore();
    await inner.put('user-1', { refreshToken: 'RT-1' });
    const taken: number[] = [];
    const store = wrapStore(inner, {
      lease: (key, ttlMs) => {
        taken.push(ttlMs);
        return inner.lease(key, ttlMs);
      },
    });
    const source = refreshTokenGrant({
      tokenUrl: endpoint.tokenUrl,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      store,
      ...(options.reuseGraceMs === undefined ? {} : { reuseGraceMs: options.reuseGraceMs }),
    });
    if (options.timeoutMs === undefined) {
      await source(context());
    } else {
      const tokens = new TokenStreams({ source, timeoutMs: options.timeoutMs });
      await tokens.getToken('user-1');
      tokens.close();
    }
    return taken;
  };

  it('lasts 1.25 times what is left of the attempt, so that a slow answer the stream still waits for is never abandoned', async () => {
    const [short] = await leases({ timeoutMs: 4_000 });
    expect(short).to.be.within(4_800, 5_000);
    const [long] = await leases({ timeoutMs: 60_000 });
    expect(long).to.be.within(74_800, 75_000);
  });

  it('lasts 15 s for a call without a deadline, and half the reuse interval when one is given', async () => {
    expect(await leases({})).to.deep.equal([15_000]);
    expect(await leases({ timeoutMs: 60_000, reuseGraceMs: 10_000 })).to.deep.equal([5_000]);
  });
});
