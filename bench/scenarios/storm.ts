import { TokenStream, authFetch } from 'rx-token-stream';
import type { AxiosAuthRefreshOptions } from 'axios-auth-refresh';
import { axiosWithAuthRefresh } from '../contenders/axios-auth-refresh.js';
import { clockScheduler } from '../contenders/contender.js';
import { target, type Row, type Target } from '../report.js';
import { startPartner, type Partner } from '../support/partner.js';
import { rotate } from '../support/stats.js';
import type { Scenario } from './scenario.js';

/** Sends one request tagged with `id`; resolves with its final HTTP status (0: it threw). */
type Client = (id: string) => Promise<number>;

interface StormContender {
  name: string;
  create(partner: Partner): { send: Client; close(): void };
}

const viaAuthFetch: StormContender = {
  name: 'rx-token-stream authFetch',
  create(partner) {
    const tokens = new TokenStream({ source: () => partner.authCall(), scheduler: clockScheduler });
    const fetch = authFetch(tokens, { origins: [partner.origin] });
    return {
      async send(id) {
        const response = await fetch(`${partner.origin}/api`, { headers: { 'x-request-id': id } });
        await response.arrayBuffer();
        return response.status;
      },
      close: () => tokens.close(),
    };
  },
};

function viaAxiosAuthRefresh(name: string, options: AxiosAuthRefreshOptions): StormContender {
  return {
    name,
    create(partner) {
      const instance = axiosWithAuthRefresh(partner.origin, () => partner.authCall(), options);
      return {
        async send(id) {
          const response = await instance.get('/api', { headers: { 'x-request-id': id } });
          return response.status;
        },
        close() {},
      };
    },
  };
}

const contenders = [
  viaAuthFetch,
  // Its defaults: `deduplicateRefresh: true` skips every 401 that arrives during a refresh.
  viaAxiosAuthRefresh('axios-auth-refresh (defaults)', {}),
  // The setting that lets those 401s join the running refresh instead.
  viaAxiosAuthRefresh('axios-auth-refresh (deduplicateRefresh: false)', { deduplicateRefresh: false }),
];

/**
 * One storm: the client holds a token the server has just revoked, and N requests go out
 * at once. All N get a 401 for the same token.
 */
async function storm(partner: Partner, contender: StormContender, demands: number, round: number) {
  const client = contender.create(partner);
  await partner.reset();
  const primed = await client.send(`prime-${round}`);
  if (primed !== 200) throw new Error(`${contender.name}: priming request got ${primed}`);
  await partner.revoke();
  await partner.reset();
  const statuses = await Promise.all(
    Array.from({ length: demands }, (_, i) => client.send(`${round}-${i}`).catch(() => 0)),
  );
  const stats = await partner.stats();
  client.close();
  return { authCalls: stats.authCalls, failed: statuses.filter((status) => status !== 200).length, maxAttempts: stats.maxAttempts };
}

/** Scenario 2: N parallel requests all get 401 for the same token. */
export const stormScenario: Scenario = async ({ quick, progress }) => {
  const demands = 1_000;
  const repeats = quick ? 1 : 6;
  // The smoke run gates on our counts only, so it leaves the peers out.
  const running = quick ? [viaAuthFetch] : contenders;
  // The auth server answers in 10 ms, as a nearby one would; 401s keep arriving meanwhile.
  const partner = await startPartner({ authDelayMs: 10 });
  try {
    const samples = new Map(running.map((c) => [c.name, { authCalls: [] as number[], failed: 0, maxAttempts: 0 }]));
    for (let round = 0; round < repeats; round += 1) {
      for (const contender of rotate(running, round)) {
        const result = await storm(partner, contender, demands, round);
        const sample = samples.get(contender.name)!;
        sample.authCalls.push(result.authCalls);
        sample.failed += result.failed;
        sample.maxAttempts = Math.max(sample.maxAttempts, result.maxAttempts);
      }
      progress(round + 1, repeats);
    }
    const rows: Row[] = running.map((contender) => {
      const sample = samples.get(contender.name)!;
      return {
        contender: contender.name,
        figures: {
          'auth calls per storm (min–max)': `${Math.min(...sample.authCalls)}–${Math.max(...sample.authCalls)}`,
          'failed requests': `${sample.failed} of ${demands * repeats}`,
          'max attempts per request': sample.maxAttempts,
        },
      };
    });
    const ours = samples.get(viaAuthFetch.name)!;
    const targets: Target[] = [
      target('authFetch: auth calls per storm (max)', Math.max(...ours.authCalls), '= 1', 'count', (v) => v === 1),
      target('authFetch: failed requests', ours.failed, '= 0', 'count', (v) => v === 0),
      target('authFetch: attempts per request (max)', ours.maxAttempts, '≤ 2', 'count', (v) => v <= 2),
    ];
    return {
      id: '2 401 storm',
      title: `2. 401 storm: ${demands.toLocaleString('en-US')} parallel requests get 401 for the same token (${repeats} storm${repeats === 1 ? '' : 's'} each)`,
      rows,
      targets,
    };
  } finally {
    await partner.close();
  }
};
