// What every CredentialStore must do, as one list of specs that each store's spec runs: the
// memory store with a virtual clock, the Redis store against the real redis-server.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import type { CredentialStore } from 'rx-token-stream';

/** What a store's spec hands the contract. */
export interface ContractSubject {
  store: CredentialStore;
  /** Lets a lease of `ttlMs` taken on `key` run out (a clock moved, or a real wait polled). */
  expire(key: string, ttlMs: number): Promise<void>;
  /** Resolves once a waiter that has started would hear of a change (a subscription confirmed). */
  listening?(): Promise<void>;
}

const RT = 'rt-contract-must-not-leak-1';
const AT = { value: 'at-contract-must-not-leak-1', expiresAt: Date.now() + 3_600_000, type: 'Bearer' };

/** Registers the contract's specs in the calling `describe`. */
export function credentialStoreContract(subject: () => ContractSubject): void {
  let key: string;
  beforeEach(() => {
    key = `contract-${randomUUID()}`;
  });

  it('holds nothing for a key never put, and starts each family with the next version', async () => {
    const { store } = subject();
    expect(await store.get(key)).to.equal(undefined);
    expect(await store.put(key, { refreshToken: 'rt-1' })).to.equal(1);
    expect(await store.get(key)).to.deep.include({ refreshToken: 'rt-1', version: 1 });
    expect(await store.put(key, { refreshToken: 'rt-2' })).to.equal(2);
    expect(await store.get(key)).to.deep.include({ refreshToken: 'rt-2', version: 2 });
  });

  it('grants one lease at a time, with a greater fence each time, and again once it ran out', async () => {
    const { store, expire } = subject();
    await store.put(key, { refreshToken: 'rt-1' });
    const first = await store.lease(key, 200);
    expect(first).to.be.a('number');
    expect(await store.lease(key, 200)).to.equal(undefined);
    await expire(key, 200);
    const second = await store.lease(key, 200);
    expect(second).to.be.greaterThan(first as number);
    await store.release(key, first as number);
    expect(await store.lease(key, 200), 'a stale release ends nothing').to.equal(undefined);
    await store.release(key, second as number);
    expect(await store.lease(key, 200)).to.be.greaterThan(second as number);
  });

  it('saves only on the version read and the latest fence, adds 1 to the version, and ends the lease', async () => {
    const { store } = subject();
    await store.put(key, { refreshToken: 'rt-1' });
    const fence = (await store.lease(key, 10_000)) as number;
    expect(await store.save(key, { version: 1, fence }, { refreshToken: 'rt-2', accessToken: AT })).to.equal(true);
    const saved = await store.get(key);
    expect(saved).to.deep.include({ refreshToken: 'rt-2', version: 2 });
    expect(saved?.accessToken).to.deep.equal(AT);
    expect(await store.save(key, { version: 1, fence }, { refreshToken: 'rt-stale' }), 'an old version').to.equal(false);
    const next = (await store.lease(key, 10_000)) as number;
    expect(next, 'the save ended the lease').to.be.a('number');
    expect(await store.get(key)).to.deep.include({ refreshToken: 'rt-2', version: 2 });
    await store.release(key, next);
  });

  it('refuses the save of a holder whose lease ran out once a newer lease was granted, and ends no lease of another', async () => {
    const { store, expire } = subject();
    await store.put(key, { refreshToken: 'rt-1' });
    const paused = (await store.lease(key, 200)) as number;
    await expire(key, 200);
    const newer = (await store.lease(key, 10_000)) as number;
    expect(await store.save(key, { version: 1, fence: paused }, { refreshToken: 'rt-paused' })).to.equal(false);
    expect(await store.lease(key, 10_000), 'the newer lease is still held').to.equal(undefined);
    expect(await store.save(key, { version: 1, fence: newer }, { refreshToken: 'rt-newer' })).to.equal(true);
    expect(await store.get(key)).to.deep.include({ refreshToken: 'rt-newer', version: 2 });
  });

  it('keeps the save of a holder whose lease ran out when nobody took over: the rotated token is the only one', async () => {
    const { store, expire } = subject();
    await store.put(key, { refreshToken: 'rt-1' });
    const fence = (await store.lease(key, 200)) as number;
    await expire(key, 200);
    expect(await store.save(key, { version: 1, fence }, { refreshToken: 'rt-2' })).to.equal(true);
    expect(await store.get(key)).to.deep.include({ refreshToken: 'rt-2', version: 2 });
  });

  it('marks reauth-required once, refuses every save after it, drops the access token, and a put starts over', async () => {
    const { store } = subject();
    await store.put(key, { refreshToken: 'rt-1' });
    let fence = (await store.lease(key, 10_000)) as number;
    await store.save(key, { version: 1, fence }, { refreshToken: 'rt-2', accessToken: AT });
    fence = (await store.lease(key, 10_000)) as number;
    expect(await store.fail(key, { version: 2, fence }, { reason: 'reauth-required' })).to.equal(true);
    expect(await store.fail(key, { version: 2, fence }, { reason: 'reauth-required' }), 'only the first').to.equal(false);
    const dead = await store.get(key);
    expect(dead?.failure).to.deep.equal({ reason: 'reauth-required' });
    expect(dead?.accessToken).to.equal(undefined);
    fence = (await store.lease(key, 10_000)) as number;
    expect(await store.save(key, { version: 2, fence }, { refreshToken: 'rt-3' })).to.equal(false);
    expect(await store.put(key, { refreshToken: 'rt-new-family' })).to.equal(3);
    const fresh = await store.get(key);
    expect(fresh).to.deep.include({ refreshToken: 'rt-new-family', version: 3 });
    expect(fresh?.failure).to.equal(undefined);
  });

  it('does not mark a credential that changed since it was read', async () => {
    const { store } = subject();
    await store.put(key, { refreshToken: 'rt-1' });
    const fence = (await store.lease(key, 10_000)) as number;
    await store.put(key, { refreshToken: 'rt-other-family' });
    expect(await store.fail(key, { version: 1, fence }, { reason: 'reauth-required' })).to.equal(false);
    expect((await store.get(key))?.failure).to.equal(undefined);
  });

  it('keeps a refused mark with its client and access token, and a save by other client settings clears it', async () => {
    const { store } = subject();
    await store.put(key, { refreshToken: 'rt-1' });
    let fence = (await store.lease(key, 10_000)) as number;
    await store.save(key, { version: 1, fence }, { refreshToken: 'rt-2', accessToken: AT });
    fence = (await store.lease(key, 10_000)) as number;
    const refused = { reason: 'refused', error: 'invalid_client', client: 'fp-1' } as const;
    expect(await store.fail(key, { version: 2, fence }, refused)).to.equal(true);
    const marked = await store.get(key);
    expect(marked?.failure).to.deep.equal(refused);
    expect(marked?.accessToken).to.deep.equal(AT);
    fence = (await store.lease(key, 10_000)) as number;
    expect(await store.save(key, { version: 2, fence }, { refreshToken: 'rt-3' })).to.equal(true);
    expect((await store.get(key))?.failure).to.equal(undefined);
  });

  it('wakes a waiter on a save, a put, a release, a failure and an abort', async () => {
    const { store, listening } = subject();
    const { changed } = store;
    expect(changed, 'this store tells waiters of changes').to.be.a('function');
    const wait = (): Promise<void> => (changed as NonNullable<typeof changed>).call(store, key, 60_000, new AbortController().signal);
    let woken = wait();
    await listening?.();
    await store.put(key, { refreshToken: 'rt-1' });
    await woken;
    const fence = (await store.lease(key, 10_000)) as number;
    woken = wait();
    await store.release(key, fence);
    await woken;
    const next = (await store.lease(key, 10_000)) as number;
    woken = wait();
    await store.save(key, { version: 1, fence: next }, { refreshToken: 'rt-2' });
    await woken;
    const last = (await store.lease(key, 10_000)) as number;
    woken = wait();
    await store.fail(key, { version: 2, fence: last }, { reason: 'reauth-required' });
    await woken;
    const controller = new AbortController();
    const aborted = (changed as NonNullable<typeof changed>).call(store, key, 60_000, controller.signal);
    controller.abort();
    await aborted;
  });

  it('keeps the refresh token and the access token out of JSON and util.inspect of what get returns', async () => {
    const { store } = subject();
    await store.put(key, { refreshToken: RT });
    const fence = (await store.lease(key, 10_000)) as number;
    await store.save(key, { version: 1, fence }, { refreshToken: RT, accessToken: AT });
    const credential = await store.get(key);
    expect(credential?.refreshToken).to.equal(RT);
    for (const view of [JSON.stringify(credential), inspect(credential, { depth: Infinity, showHidden: false }), inspect(store, { depth: 5 })]) {
      expect(view).not.to.include(RT);
      expect(view).not.to.include(AT.value);
    }
    expect(JSON.parse(JSON.stringify(credential))).to.deep.include({ version: 2, refreshToken: '[redacted]' });
  });

  it('refuses to put what is not a refresh token, with a TypeError that names the argument and not the value', async () => {
    const { store } = subject();
    const refused = async (k: unknown, credential: unknown): Promise<TypeError> => {
      try {
        await store.put(k as string, credential as { refreshToken: string });
      } catch (error) {
        return error as TypeError;
      }
      throw new Error('put accepted it');
    };
    expect((await refused('', { refreshToken: 'rt' })).message).to.match(/`key` must be a non-empty string/);
    expect((await refused(key, null)).message).to.match(/`credential` must be an object/);
    expect((await refused(key, { refreshToken: '' })).message).to.match(/`refreshToken` must be a non-empty string/);
    const controlled = await refused(key, { refreshToken: 'rt-secret\nX' });
    expect(controlled).to.be.instanceOf(TypeError);
    expect(controlled.message).to.match(/`refreshToken` must be printable ASCII/).and.not.include('rt-secret');
    expect((await refused(key, { refreshToken: 'r'.repeat(16_385) })).message).to.match(/at most 16384/);
    expect(await store.get(key)).to.equal(undefined);
  });
}
