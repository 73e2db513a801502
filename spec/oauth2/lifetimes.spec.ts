import { expect } from 'chai';
import type { ServerResponse } from 'node:http';
import {
  OAuthError,
  clientCredentials,
  memoryCredentialStore,
  refreshTokenGrant,
  type Token,
  type TokenSourceContext,
} from 'rx-token-stream';
import { CLIENT_ID, CLIENT_SECRET, send, tokenEndpoint, virtualClock } from './support.js';

// This host's clock (the scheduler): a whole second, as an HTTP Date has no fractions.
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const httpDate = (ms: number): string => new Date(ms).toUTCString();
const jwt = (claims: Record<string, unknown>): string =>
  ['{"alg":"RS256","typ":"at+jwt"}', JSON.stringify(claims), 'signature'].map((part, index) => (index < 2 ? Buffer.from(part).toString('base64url') : part)).join('.');

const context = (): TokenSourceContext => ({ signal: new AbortController().signal, reason: 'initial', report: () => {}, key: 'user-1' });

describe('server-guided lifetimes: a JWT access token without expires_in lives until its exp, on the server clock', () => {
  let answer: (res: ServerResponse) => void;
  let endpoint: Awaited<ReturnType<typeof tokenEndpoint>>;
  before(async () => {
    endpoint = await tokenEndpoint((res) => answer(res));
  });
  after(() => endpoint.close());

  /** Answers a token whose body is `body`, with `date` as the Date header (null: none at all). */
  const answering = (body: Record<string, unknown>, date: string | null): void => {
    answer = (res) => {
      if (date === null) res.sendDate = false;
      send(res, 200, { token_type: 'Bearer', ...body }, date === null ? {} : { date });
    };
  };
  const sources = {
    clientCredentials: () => clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scheduler: virtualClock(NOW).scheduler }),
    refreshTokenGrant: () => {
      const { scheduler } = virtualClock(NOW);
      const store = memoryCredentialStore({ scheduler });
      void store.put('user-1', { refreshToken: 'rt-lifetimes' });
      return refreshTokenGrant({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, store, scheduler });
    },
  };

  for (const [name, make] of Object.entries(sources)) {
    describe(name, () => {
      const token = (): Promise<Token> => make()(context());

      it("sets refreshAt from refresh_in (Entra), counted from when the request was sent, when it comes before expiry", async () => {
        answering({ access_token: 'opaque', expires_in: 3_600, refresh_in: 1_800 }, httpDate(NOW));
        expect(await token()).to.include({ expiresAt: NOW + 3_600_000, refreshAt: NOW + 1_800_000 });
        for (const refreshIn of [3_600, 7_200, 0, -5, '900', null]) {
          answering({ access_token: 'opaque', expires_in: 3_600, refresh_in: refreshIn }, httpDate(NOW));
          expect(await token(), String(refreshIn)).to.not.have.property('refreshAt');
        }
      });

      it('counts exp from the Date of a server whose clock is 2 hours ahead', async () => {
        const server = NOW + 2 * 3_600_000;
        answering({ access_token: jwt({ exp: (server + 300_000) / 1000, sub: 'svc' }) }, httpDate(server));
        expect((await token()).expiresAt).to.equal(NOW + 300_000);
      });

      it('counts exp from the Date of a server whose clock is 10 minutes behind (its token is not expired on arrival)', async () => {
        const server = NOW - 600_000;
        answering({ access_token: jwt({ exp: (server + 300_000) / 1000 }) }, httpDate(server));
        expect((await token()).expiresAt).to.equal(NOW + 300_000);
      });

      it('takes the clocks to agree without a Date header, or with one that is no HTTP-date', async () => {
        for (const date of [null, 'yesterday', '1']) {
          answering({ access_token: jwt({ exp: (NOW + 120_000) / 1000 }) }, date);
          expect((await token()).expiresAt, String(date)).to.equal(NOW + 120_000);
        }
      });

      it('prefers expires_in to exp', async () => {
        answering({ access_token: jwt({ exp: (NOW + 120_000) / 1000 }), expires_in: 60 }, httpDate(NOW + 3_600_000));
        expect((await token()).expiresAt).to.equal(NOW + 60_000);
      });

      it('falls back to defaultExpiresInMs for an opaque token, a JWE, or a JWT without a numeric exp', async () => {
        const noExp = [
          'opaque-access-token',
          'a.b.c.d.e',
          jwt({ exp: '1900000000' }),
          jwt({ sub: 'svc' }),
          `${Buffer.from('{}').toString('base64url')}.not-base64-json.sig`,
        ];
        for (const accessToken of noExp) {
          answering({ access_token: accessToken }, httpDate(NOW));
          expect((await token()).expiresAt, accessToken).to.equal(NOW + 3_600_000);
        }
      });

      it('refuses, as a final failure, a JWT already expired by the Date, or whose exp is more than a year away', async () => {
        for (const exp of [NOW / 1000 - 1, NOW / 1000, NOW / 1000 + 366 * 24 * 3_600]) {
          answering({ access_token: jwt({ exp }) }, httpDate(NOW));
          const error = await token().then(
            () => expect.fail('resolved'),
            (failure: unknown) => failure,
          );
          expect(error).to.be.instanceOf(OAuthError).and.include({ kind: 'invalid-token-response', retryable: false });
          expect((error as Error).message).to.match(/the access token's `exp` must be 1 ms to 31536000 seconds after the response's Date/);
        }
      });
    });
  }
});
