// refreshTokenGrant on postgresCredentialStore, against the real oidc-provider of the
// rotation specs: stacks that share nothing but the database (a pool, a store and streams
// each, as processes would) present each refresh token once.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { TokenStreams, refreshTokenGrant, type KeyedTokenEvent } from 'rx-token-stream';
import { CLIENT_ID, CLIENT_SECRET, startProvider, type RotatingProvider } from '../refresh-rotation/provider.js';
import type { PostgresCredentialStore } from 'rx-token-stream/postgres';
import { postgresHarness } from './support.js';

describe('refreshTokenGrant on postgresCredentialStore, against oidc-provider', function () {
  this.timeout(60_000);
  const harness = postgresHarness();
  let provider: RotatingProvider;
  let streams: TokenStreams[];
  let events: KeyedTokenEvent[];
  let key: string;
  before(async () => {
    provider = await startProvider();
  });
  after(() => provider?.close());
  beforeEach(() => {
    provider.reset();
    streams = [];
    events = [];
    key = `user-${randomUUID()}`;
  });
  afterEach(() => {
    for (const stream of streams) stream.close();
  });

  /** One process's stack: its own pool, store and streams. */
  const stack = (): { store: PostgresCredentialStore; tokens: TokenStreams } => {
    const store = harness.store({ pool: harness.newPool({ max: 4 }) });
    const source = refreshTokenGrant({ tokenUrl: provider.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, store, pollMs: 50 });
    const tokens = new TokenStreams({ source, retry: { delayMs: 0, jitter: 0 } });
    tokens.events$.subscribe((event) => events.push(event));
    streams.push(tokens);
    return { store, tokens };
  };

  it('makes 1 grant request per rotation for 4 stacks x 250 demands over 20 rotations: 0 reuses, 0 revocations, version 21 higher', async () => {
    const stacks = [stack(), stack(), stack(), stack()];
    const [{ store }] = stacks as [(typeof stacks)[0]];
    const start = await store.put(key, { refreshToken: (await provider.mint()).refreshToken });
    const round = async (): Promise<Set<string>> => {
      const values = await Promise.all(
        stacks.flatMap(({ tokens }) => Array.from({ length: 250 }, () => tokens.getToken(key).then((token) => token.value))),
      );
      return new Set(values);
    };
    let [current] = [...(await round())];
    for (let rotation = 1; rotation <= 20; rotation += 1) {
      for (const { tokens } of stacks) tokens.invalidate(key, current as string);
      const seen = await round();
      expect(seen.size, `rotation ${rotation}: one access token for all`).to.equal(1);
      [current] = [...seen];
    }
    expect(provider.counts).to.deep.include({ grantRequests: 21, rotations: 21, reuses: 0, revocations: 0 });
    expect((await store.get(key))?.version).to.equal(start + 21);
    expect(events.filter((event) => event.type === 'refresh-failure')).to.deep.equal([]);
    const stored = await store.get(key);
    for (const view of [inspect(stored), JSON.stringify(stored), inspect(events, { depth: Infinity })]) {
      expect(view).not.to.include(stored?.refreshToken);
      expect(view).not.to.include(current);
    }
  });
});
