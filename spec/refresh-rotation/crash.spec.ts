import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { fleetHarness, type FleetChild } from './fleet.js';
import { ROTATING_CLIENT_ID, ROTATING_CLIENT_SECRET, startRotatingServer, type HeldRequest, type RotatingServer } from './rotating-server.js';

const LEASE_MS = 600;
const PER_PROCESS = 250;

describe('refreshTokenGrant when the holder is SIGKILLed (4 processes, Redis, a token server that revokes on reuse)', function () {
  this.timeout(30_000);
  const fleet = fleetHarness('crash');
  let server: RotatingServer;
  let key: string;

  beforeEach(async () => {
    // The victim of the last spec is replaced.
    await fleet.replaceKilled();
    key = `user-${randomUUID()}`;
  });
  afterEach(() => server?.close());

  /** Sets the fleet up against `server`; the victim (the first child) with its kill point. */
  const setup = (options: { stopAt?: 'before-send' | 'after-save'; reuseGraceMs?: number } = {}): Promise<unknown> =>
    fleet.setup(
      { tokenUrl: server.tokenUrl, clientId: ROTATING_CLIENT_ID, clientSecret: ROTATING_CLIENT_SECRET, leaseMs: LEASE_MS, reuseGraceMs: options.reuseGraceMs ?? 0, timeoutMs: 5_000 },
      (index) => (index === 0 && options.stopAt !== undefined ? { stopAt: options.stopAt } : {}),
    );
  const survivors = (): FleetChild[] => fleet.children.slice(1);
  const demand = async (invalidate?: string): Promise<string[]> =>
    (
      await Promise.all(
        survivors().map((child) => child.request<string[]>({ type: 'demand', key, count: PER_PROCESS, ...(invalidate === undefined ? {} : { invalidate }) })),
      )
    ).flat();
  /** The victim starts the rotation alone, so that it is the holder. */
  const victimDemands = (): void => {
    fleet.children[0]?.request({ type: 'demand', key, count: 25 }).catch(() => {});
  };
  /** The kill point the victim reaches next. */
  const victimStops = async (): Promise<string> => (await (fleet.children[0] as FleetChild).notice<{ stopped: string }>()).stopped;
  /** The next request the server holds at `point`; the others pass. */
  const nextHeld = (point: 'before' | 'rotated'): Promise<HeldRequest> =>
    new Promise((resolve) => {
      server.hold = (at, request) => {
        if (at !== point) return request.release();
        server.hold = undefined;
        resolve(request);
      };
    });
  const sourceEvents = async (): Promise<string[]> =>
    (await Promise.all(survivors().map((child) => child.request<string[]>({ type: 'events' })))).flat().filter((event) => event.startsWith('source:'));

  it('(a) before its request reaches the token server: the next holder rotates, 0 revocations', async () => {
    server = await startRotatingServer();
    const start = await fleet.store.put(key, { refreshToken: server.mint() });
    await setup({ stopAt: 'before-send' });
    const stopped = victimStops();
    victimDemands();
    expect(await stopped).to.equal('before-send');
    await fleet.children[0]?.kill();

    const values = await demand();
    expect(new Set(values).size).to.equal(1);
    expect(values[0]).to.match(/^at-f1-/);
    expect(server.counts).to.deep.include({ requests: 1, rotations: 1, reuses: 0, revocations: 0 });
    expect((await fleet.store.get(key))?.version).to.equal(start + 1);
  });

  it('(b) after the server rotated, before the save, reuseGraceMs 0: 1 more request, then reauth-required everywhere, 1 event, 0 requests until put', async () => {
    server = await startRotatingServer();
    const first = server.mint();
    await fleet.store.put(key, { refreshToken: first });
    await setup();
    const held = nextHeld('rotated');
    victimDemands();
    const answer = await held;
    expect(answer.process).to.equal(String(fleet.children[0]?.pid));
    await fleet.children[0]?.kill();
    answer.release();

    const failed = await demand();
    expect(new Set(failed)).to.deep.equal(new Set(['ERR_TOKEN_REFRESH:reauth-required']));
    expect(server.counts, 'the killed request and one more').to.deep.include({ requests: 2, rotations: 1, reuses: 1, revocations: 1 });
    expect(server.revoked(first)).to.equal(true);
    expect(await sourceEvents()).to.deep.equal(['source:reauth-required']);

    const again = await demand();
    expect(new Set(again)).to.deep.equal(new Set(['ERR_TOKEN_REFRESH:reauth-required']));
    expect(server.counts.requests, 'no request until store.put').to.equal(2);
    expect(await sourceEvents()).to.deep.equal(['source:reauth-required']);

    await fleet.store.put(key, { refreshToken: server.mint() });
    const values = await demand();
    expect(new Set(values).size).to.equal(1);
    expect(values[0]).to.match(/^at-f2-/);
    expect(server.counts).to.deep.include({ requests: 3, rotations: 2, revocations: 1 });
  });

  it('(b) with reuseGraceMs longer than the lease: the next holder presents it within the grace, 0 revocations', async () => {
    server = await startRotatingServer({ graceMs: 5_000 });
    const start = await fleet.store.put(key, { refreshToken: server.mint() });
    await setup({ reuseGraceMs: 5_000 });
    const held = nextHeld('rotated');
    victimDemands();
    const answer = await held;
    await fleet.children[0]?.kill();
    answer.release();

    const values = await demand();
    expect(new Set(values).size).to.equal(1);
    expect(server.counts).to.deep.include({ requests: 2, rotations: 2, graceReuses: 1, reuses: 0, revocations: 0 });
    expect((await fleet.store.get(key))?.version).to.equal(start + 1);
    const next = await demand(values[0]);
    expect(new Set(next).size).to.equal(1);
    expect(server.counts).to.deep.include({ requests: 3, reuses: 0, revocations: 0 });
  });

  it('(c) after the save: the fleet takes the saved token without a request, and rotates on, 0 revocations', async () => {
    server = await startRotatingServer();
    const start = await fleet.store.put(key, { refreshToken: server.mint() });
    await setup({ stopAt: 'after-save' });
    const stopped = victimStops();
    victimDemands();
    expect(await stopped).to.equal('after-save');
    await fleet.children[0]?.kill();

    const saved = await fleet.store.get(key);
    expect(saved?.version).to.equal(start + 1);
    const values = await demand();
    expect(new Set(values)).to.deep.equal(new Set([saved?.accessToken?.value]));
    expect(server.counts.requests).to.equal(1);
    const next = await demand(values[0]);
    expect(new Set(next).size).to.equal(1);
    expect(server.counts).to.deep.include({ requests: 2, rotations: 2, reuses: 0, revocations: 0 });
  });
});
