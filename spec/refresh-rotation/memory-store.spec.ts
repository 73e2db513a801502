import { expect } from 'chai';
import { memoryCredentialStore, type CredentialStore } from 'rx-token-stream';
import { virtualClock } from '../oauth2/support.js';
import { credentialStoreContract, type ContractSubject } from './store-contract.js';

describe('memoryCredentialStore', () => {
  let clock: ReturnType<typeof virtualClock>;
  let store: CredentialStore;
  beforeEach(() => {
    clock = virtualClock(1_000_000);
    store = memoryCredentialStore({ scheduler: clock.scheduler });
  });

  credentialStoreContract(
    (): ContractSubject => ({
      store,
      expire: async (_key, ttlMs) => clock.advanceTo(clock.scheduler.now() + ttlMs),
    }),
  );

  it('counts a lease as held until the last millisecond of its ttl, on the injected clock', async () => {
    await store.put('k', { refreshToken: 'rt-1' });
    expect(await store.lease('k', 1_000)).to.equal(1);
    clock.advanceTo(1_000_999);
    expect(await store.lease('k', 1_000)).to.equal(undefined);
    clock.advanceTo(1_001_000);
    expect(await store.lease('k', 1_000)).to.equal(2);
  });

  it('ends a wait for a change after its timeout on the injected clock, and keeps no listener', async () => {
    const controller = new AbortController();
    let done = false;
    const waiting = store.changed?.('k', 500, controller.signal).then(() => (done = true));
    clock.advanceTo(1_000_499);
    await Promise.resolve();
    expect(done).to.equal(false);
    clock.advanceTo(1_000_500);
    await waiting;
    expect(done).to.equal(true);
    expect(clock.scheduler.actions, 'no timer left').to.have.length(0);
  });

  it('refuses a scheduler that is not one, naming the option', () => {
    expect(() => memoryCredentialStore({ scheduler: {} as never })).to.throw(TypeError, /memoryCredentialStore: option `scheduler`/);
    expect(() => memoryCredentialStore(null as never)).to.throw(TypeError, /option `options`/);
  });
});

describe('credential keys', () => {
  it('refuses a key with a lone surrogate or NUL, which Redis and PostgreSQL would merge with another', async () => {
    const store = memoryCredentialStore();
    for (const key of ['user-\uD800', 'user-\uDC00', 'user\0']) {
      const error: unknown = await Promise.resolve()
        .then(() => store.put(key, { refreshToken: 'rt' }))
        .then(() => undefined, (caught: unknown) => caught);
      expect(error, JSON.stringify(key)).to.be.instanceOf(TypeError).with.property('message').that.matches(/lone surrogates/);
    }
    expect(await store.get('user-\uFFFD')).to.equal(undefined);
  });
});
