import { expect } from 'chai';
import { fleetHarness } from './fleet.js';
import { CLIENT_ID, CLIENT_SECRET, startProvider, type RotatingProvider } from './provider.js';

const ROUNDS = 20;
const PER_PROCESS = 250;

describe('refreshTokenGrant across 4 processes sharing redisCredentialStore, against oidc-provider', function () {
  this.timeout(60_000);
  const fleet = fleetHarness('fleet');
  let provider: RotatingProvider;

  before(async () => {
    provider = await startProvider();
  });
  after(() => provider?.close());

  const setup = (options: { ownStore?: { key: string; refreshToken: string } } = {}): Promise<unknown> =>
    fleet.setup({ tokenUrl: provider.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, leaseMs: 10_000, reuseGraceMs: 0, timeoutMs: 8_000, ...options });

  it(`makes ${ROUNDS} grant requests for ${ROUNDS} rotations of 4 × ${PER_PROCESS} demands: 0 reuses, 0 revocations, version ${ROUNDS} higher`, async () => {
    const key = 'user-42';
    const family = await provider.mint();
    const start = await fleet.store.put(key, { refreshToken: family.refreshToken });
    provider.reset();
    await setup();

    let current: string | undefined;
    const seen = new Set<string>();
    for (let round = 1; round <= ROUNDS; round += 1) {
      const invalidate = current;
      const values = (
        await Promise.all(
          fleet.children.map((child) =>
            child.request<string[]>({ type: 'demand', key, count: PER_PROCESS, ...(invalidate === undefined ? {} : { invalidate }) }),
          ),
        )
      ).flat();
      expect(values, `round ${round}`).to.have.length(4 * PER_PROCESS);
      expect(new Set(values).size, `round ${round}: one token for every demand`).to.equal(1);
      current = values[0] as string;
      expect(seen.has(current), `round ${round}: a new token`).to.equal(false);
      seen.add(current);
      expect(provider.counts.grantRequests, `after round ${round}`).to.equal(round);
    }

    expect(provider.counts).to.deep.include({ grantRequests: ROUNDS, rotations: ROUNDS, reuses: 0, revocations: 0, refusals: [] });
    expect(await provider.grantExists(family.grantId)).to.equal(true);
    expect((await fleet.store.get(key))?.version).to.equal(start + ROUNDS);
    const events = (await Promise.all(fleet.children.map((child) => child.request<string[]>({ type: 'events' })))).flat();
    expect(events.filter((event) => event.startsWith('source:') || event === 'refresh-retry')).to.deep.equal([]);
  });

  it('revokes the family at the first rotation when each process keeps the refresh token in its own store (the count is real)', async () => {
    const key = 'user-7';
    const family = await provider.mint({ accountId: 'user-7' });
    provider.reset();
    await setup({ ownStore: { key, refreshToken: family.refreshToken } });
    const values = (await Promise.all(fleet.children.map((child) => child.request<string[]>({ type: 'demand', key, count: PER_PROCESS })))).flat();

    expect(provider.counts.grantRequests).to.equal(4);
    expect(provider.counts.reuses).to.be.at.least(1);
    expect(provider.counts.revocations).to.be.at.least(1);
    expect(await provider.grantExists(family.grantId)).to.equal(false);
    expect(values.filter((value) => value === 'ERR_TOKEN_REFRESH:reauth-required')).to.have.length.at.least(PER_PROCESS);
  });
});
