import { expect } from 'chai';
import {
  TokenStream,
  refreshTokenGrant,
  type CredentialStore,
  type StoredCredential,
  type TokenEvent,
} from 'rx-token-stream';
import { virtualClock } from '../oauth2/support.js';
import { ROTATING_CLIENT_ID, ROTATING_CLIENT_SECRET, startRotatingServer, type RotatingServer } from './rotating-server.js';
import { STORE_KINDS, storeOfKind } from './stores.js';
import { gate, rejectionOf, reports, wrapStore } from './support.js';

const KEY = 'tenant-7';
const LEASE_MS = 1_000;

for (const kind of STORE_KINDS) describe(`refreshTokenGrant fences a holder whose lease ran out (paused, or slower than its lease) on the ${kind} store`, () => {
  const stores = storeOfKind(kind);
  let server: RotatingServer;
  let clock: ReturnType<typeof virtualClock>;
  let shared: CredentialStore;
  let streams: TokenStream[];

  beforeEach(async () => {
    clock = virtualClock(1_700_000_000_000);
    shared = stores.open({ scheduler: clock.scheduler });
    streams = [];
  });
  afterEach(async () => {
    for (const stream of streams) stream.close();
    await server.close();
  });

  /** `store`, whose saves wait, once reached, until `resume` opens: a holder paused after the IdP answered. */
  const pausedAtSave = (store: CredentialStore) => {
    const [reached, resume] = [gate(), gate()];
    const paused = wrapStore(store, {
      save: async (...args) => {
        reached.open();
        await resume.wait;
        return store.save(...args);
      },
    });
    return { paused, reached, resume };
  };

  /** A stream as one process of a fleet would hold it, over `store` (the shared one by default). */
  const holder = (store: CredentialStore = shared, events: TokenEvent[] = [], retries = 2): TokenStream => {
    const { scheduler } = clock;
    const source = refreshTokenGrant({
      tokenUrl: server.tokenUrl,
      clientId: ROTATING_CLIENT_ID,
      clientSecret: ROTATING_CLIENT_SECRET,
      store,
      credentialKey: KEY,
      leaseMs: LEASE_MS,
      scheduler,
    });
    const stream = new TokenStream({ source, scheduler, retry: { count: retries, delayMs: 0, jitter: 0 } });
    stream.events$.subscribe((event) => events.push(event));
    streams.push(stream);
    return stream;
  };

  it('drops the save of a holder paused after the IdP answered, once a newer holder saved: counted, reported, never overwritten', async () => {
    // The IdP honours a reuse within its grace, so that both holders get an answer.
    server = await startRotatingServer({ graceMs: 60_000 });
    await shared.put(KEY, { refreshToken: server.mint() });
    const { paused, reached, resume } = pausedAtSave(shared);
    const slowEvents: TokenEvent[] = [];
    const slow = holder(paused, slowEvents).getToken();
    // The slow holder got its answer and is about to save.
    await reached.wait;

    clock.advanceTo(clock.scheduler.now() + LEASE_MS);
    await stores.leaseRunsOut(KEY);
    const fresh = await holder().getToken();
    expect(await shared.get(KEY)).to.deep.include({ version: 2 });
    const winner = (await shared.get(KEY)) as StoredCredential;

    resume.open();
    const late = await slow;
    expect(late.value, 'its own answer still serves its caller').to.not.equal(fresh.value);
    expect(await shared.get(KEY)).to.deep.include({ version: 2, refreshToken: winner.refreshToken });
    expect(reports(slowEvents)).to.deep.equal(['credential-save-lost']);
    expect(server.counts).to.deep.include({ requests: 2, rotations: 2, graceReuses: 1, revocations: 0 });

    // The next rotation presents the winner's refresh token: no reuse.
    const next = holder();
    next.invalidate((await next.getToken()).value);
    await next.getToken();
    expect(server.counts).to.deep.include({ requests: 3, graceReuses: 1, reuses: 0, revocations: 0 });
  });

  it('keeps a new consent (store.put) made while a holder presents: its save, under a lease still held, is refused on the version', async () => {
    server = await startRotatingServer();
    await shared.put(KEY, { refreshToken: server.mint() });
    const { paused, reached, resume } = pausedAtSave(shared);
    const events: TokenEvent[] = [];
    const presenting = holder(paused, events).getToken();
    await reached.wait;
    // The user consents again while the holder's lease still runs: a new family.
    const consent = server.mint();
    await shared.put(KEY, { refreshToken: consent });
    resume.open();
    await presenting;
    expect(await shared.get(KEY), 'the new consent stands').to.deep.include({ refreshToken: consent, version: 2 });
    expect(reports(events)).to.deep.equal(['credential-save-lost']);
  });

  it('never presents a refresh token it read before its lease ran out: another holder saved a newer one meanwhile', async () => {
    server = await startRotatingServer();
    await shared.put(KEY, { refreshToken: server.mint() });
    const [reached, resume] = [gate(), gate()];
    let reads = 0;
    // The second read (under the lease) is answered, then the holder is paused with it.
    const stale = wrapStore(shared, {
      get: async (key) => {
        const read = await shared.get(key);
        reads += 1;
        if (reads === 2) {
          reached.open();
          await resume.wait;
        }
        return read;
      },
    });
    // No retry: its one attempt shows what it did with the stale read.
    const paused = holder(stale, [], 0);
    const pausedCall = rejectionOf(paused.getToken());
    await reached.wait;

    clock.advanceTo(clock.scheduler.now() + LEASE_MS);
    await stores.leaseRunsOut(KEY);
    const fresh = await holder().getToken();
    resume.open();

    const error = (await pausedCall) as Error;
    expect(error.cause).to.have.property('name', 'LeaseEndedError');
    expect(server.counts, 'the stale refresh token was never sent').to.deep.include({ requests: 1, rotations: 1, reuses: 0, revocations: 0 });
    expect((await paused.getToken()).value, 'its next call takes the token the newer holder saved').to.equal(fresh.value);
    expect(server.counts.requests).to.equal(1);
  });
});
