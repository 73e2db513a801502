import { expect } from 'chai';
import type { ServerResponse } from 'node:http';
import { OAuthError, clientCredentials, isTokenError, type TokenSourceContext } from 'rx-token-stream';
import { listen } from '../support/loopback.js';
import { CLIENT_ID, CLIENT_SECRET, LEAKY_TOKEN, expectNoSecrets, send, tokenEndpoint, virtualClock } from './support.js';

type Reply = (res: ServerResponse) => void;

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const httpDate = (ms: number): string => new Date(ms).toUTCString();
const oauthError = (status: number, error: string, headers: Record<string, string> = {}): Reply => (res) =>
  send(res, status, { error, error_description: `${error} for this client` }, headers);
const plain = (status: number, text: string, headers: Record<string, string> = {}): Reply => (res) =>
  send(res, status, text, { 'content-type': 'text/html', ...headers });

/** Calls the source once, the way the stream does, and returns what it threw. */
async function failureOf(source: ReturnType<typeof clientCredentials>): Promise<OAuthError> {
  const context: TokenSourceContext = { signal: new AbortController().signal, reason: 'initial', report: () => {} };
  try {
    await source(context);
  } catch (error) {
    expect(error).to.be.instanceOf(OAuthError);
    expect(isTokenError(error) && error.code).to.equal('ERR_OAUTH');
    expectNoSecrets(error);
    return error as OAuthError;
  }
  throw new Error('the source resolved');
}

describe('clientCredentials error handling (RFC 6749 5.2, HTTP)', () => {
  let reply: Reply;
  let endpoint: Awaited<ReturnType<typeof tokenEndpoint>>;
  const { scheduler } = virtualClock(NOW);
  const source = (): ReturnType<typeof clientCredentials> =>
    clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scheduler });

  before(async () => {
    endpoint = await tokenEndpoint((res) => reply(res));
  });
  after(() => endpoint.close());

  describe('RFC 6749 5.2 errors that no retry can fix are final', () => {
    const cases: [number, string, Record<string, string>?][] = [
      [400, 'invalid_request'],
      // RFC 6749 5.2: a 401 for a client that used Basic carries a challenge.
      [401, 'invalid_client', { 'www-authenticate': 'Basic realm="token"' }],
      [400, 'invalid_grant'],
      [400, 'unauthorized_client'],
      [400, 'unsupported_grant_type'],
      [400, 'invalid_scope'],
    ];
    for (const [status, error, headers] of cases) {
      it(`${status} ${error}: retryable false, with the error, description and status`, async () => {
        reply = oauthError(status, error, headers);
        const failure = await failureOf(source());
        expect(failure).to.include({ kind: 'error-response', status, error, error_description: `${error} for this client`, retryable: false });
        expect(failure.message).to.equal(`Token endpoint answered ${status} with ${error}`);
        expect(JSON.parse(JSON.stringify(failure))).to.deep.equal({
          name: 'OAuthError',
          code: 'ERR_OAUTH',
          message: failure.message,
          kind: 'error-response',
          retryable: false,
          status,
          error,
          error_description: `${error} for this client`,
        });
      });
    }

    it('keeps `error` only in RFC 6749 form, and error_description one line of at most 512 characters', async () => {
      for (const error of ['invalid"client', 'invalid\\client', 'invalid_clïent', 'invalid\nclient', 'x'.repeat(65)]) {
        reply = (res) => send(res, 400, { error, error_description: `line one\r\nforged line ${'y'.repeat(100_000)}` });
        const failure = await failureOf(source());
        expect(failure, error).to.include({ kind: 'error-response', error: undefined, retryable: false });
        expect(failure.message).to.equal('Token endpoint answered 400 with an OAuth error');
        expect(failure.error_description).to.have.length(512).and.match(/^line one {2}forged line y+…$/);
      }
    });
  });

  describe('transient failures are retryable', () => {
    const cases: [string, Reply, string][] = [
      // oauth4webapi reads error bodies on 4xx only (RFC 6749 5.2 defines no 5xx).
      ['500 with an OAuth body', oauthError(500, 'server_error'), 'http-status'],
      ['502 from a proxy, in HTML', plain(502, '<html>Bad gateway</html>'), 'http-status'],
      ['504 with an empty body', plain(504, ''), 'http-status'],
      ['408', plain(408, 'timeout'), 'http-status'],
      ['429 without Retry-After', oauthError(429, 'rate_limited'), 'error-response'],
    ];
    for (const [name, answer, kind] of cases) {
      it(`${name}: retryable, with the normal backoff`, async () => {
        reply = answer;
        const failure = await failureOf(source());
        expect(failure).to.include({ kind, retryable: true, retryAfterMs: undefined });
        expect(failure.message).to.include(String(failure.status));
      });
    }

    it('a refused connection: retryable, kind network, with the transport error as cause', async () => {
      const closed = await listen(() => {});
      await closed.close();
      const failure = await failureOf(clientCredentials({ tokenUrl: `${closed.origin}/token`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }));
      expect(failure).to.include({ kind: 'network', retryable: true, status: undefined });
      expect((failure.cause as { code?: string }).code).to.equal('ECONNREFUSED');
    });
  });

  describe('Retry-After on 429 and 503', () => {
    const cases: [string, Reply, number | undefined, boolean][] = [
      ['429, Retry-After: 7', plain(429, 'slow down', { 'retry-after': '7' }), 7_000, true],
      ['503, Retry-After as an HTTP date 30 s ahead', plain(503, 'busy', { 'retry-after': httpDate(NOW + 30_000) }), 30_000, true],
      ['429, Retry-After: 0', plain(429, 'slow down', { 'retry-after': '0' }), 0, true],
      ['429, Retry-After in the past', plain(429, 'slow down', { 'retry-after': httpDate(NOW - 1_000) }), undefined, true],
      ['503, Retry-After garbage', plain(503, 'busy', { 'retry-after': 'soon' }), undefined, true],
      ['503, Retry-After: 1.5 (not delta-seconds)', plain(503, 'busy', { 'retry-after': '1.5' }), undefined, true],
      ['503, Retry-After: -5', plain(503, 'busy', { 'retry-after': '-5' }), undefined, true],
      ['503, two Retry-After values', (res) => res.writeHead(503, [['retry-after', '5'], ['retry-after', '7']]).end('busy'), undefined, true],
      ['429, Retry-After past any safe integer of ms', plain(429, 'slow down', { 'retry-after': '99999999999999999999' }), undefined, true],
      ['429, Retry-After dated in year 9999: final', plain(429, 'slow down', { 'retry-after': 'Fri, 31 Dec 9999 23:59:59 GMT' }), Date.UTC(9999, 11, 31, 23, 59, 59) - NOW, false],
      ['500, Retry-After ignored outside 429 and 503', plain(500, 'oops', { 'retry-after': '7' }), undefined, true],
      ['429, Retry-After beyond maxRetryAfterMs: final', oauthError(429, 'rate_limited', { 'retry-after': '3600' }), 3_600_000, false],
    ];
    for (const [name, answer, retryAfterMs, retryable] of cases) {
      it(`${name} → retryAfterMs ${retryAfterMs}, retryable ${retryable}`, async () => {
        reply = answer;
        const failure = await failureOf(source());
        expect(failure).to.include({ retryAfterMs, retryable });
      });
    }
  });

  describe('other statuses and malformed bodies are final, and name the status', () => {
    const cases: [string, Reply, string, string][] = [
      ['403 in plain text', plain(403, 'forbidden'), 'http-status', 'Token endpoint answered 403 without an OAuth error body'],
      ['400 JSON without `error`', (res) => send(res, 400, { message: 'bad' }), 'http-status', 'Token endpoint answered 400 without an OAuth error body'],
      ['204 with no body', (res) => res.writeHead(204).end(), 'http-status', 'Token endpoint answered 204 without an OAuth error body'],
      ['302 to a login page', (res) => send(res, 302, '', { location: '/login' }), 'http-status', 'Token endpoint answered 302 without an OAuth error body'],
      // No fetch Response can hold these; they are no momentary trouble either.
      ['600', (res) => send(res, 600, { error: 'server_error' }), 'http-status', 'Token endpoint answered 600 without an OAuth error body'],
      ['999', (res) => res.writeHead(999).end(), 'http-status', 'Token endpoint answered 999 without an OAuth error body'],
      ['200 in HTML', plain(200, `<html>${LEAKY_TOKEN}</html>`), 'malformed-body', 'Token endpoint answered 200 with a body that is not JSON'],
      ['200 with broken JSON', (res) => send(res, 200, `{"access_token":"${LEAKY_TOKEN}"`), 'malformed-body', 'Token endpoint answered 200 with a body that is not JSON'],
      ['200 with a JSON array', (res) => send(res, 200, [LEAKY_TOKEN]), 'malformed-body', 'Token endpoint answered 200 with JSON that is not an object'],
      ['200 with JSON null', (res) => send(res, 200, 'null'), 'malformed-body', 'Token endpoint answered 200 with JSON that is not an object'],
      ['200 with a JSON string', (res) => send(res, 200, `"${LEAKY_TOKEN}"`), 'malformed-body', 'Token endpoint answered 200 with JSON that is not an object'],
    ];
    for (const [name, answer, kind, message] of cases) {
      it(`${name} → ${kind}`, async () => {
        reply = answer;
        const failure = await failureOf(source());
        expect(failure).to.include({ kind, retryable: false, message });
      });
    }
  });

  describe('RFC 6749 5.1 success bodies are checked', () => {
    const body = (fields: Record<string, unknown>): Reply => (res) => send(res, 200, fields);
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['no access_token', { token_type: 'Bearer', expires_in: 60 }, /access_token/],
      ['an empty access_token', { access_token: '', token_type: 'Bearer' }, /access_token/],
      ['a numeric access_token', { access_token: 42, token_type: 'Bearer' }, /access_token/],
      ['no token_type', { access_token: LEAKY_TOKEN }, /token_type/],
      ['token_type mac', { access_token: LEAKY_TOKEN, token_type: 'mac' }, /token_type/],
      ['token_type DPoP', { access_token: LEAKY_TOKEN, token_type: 'DPoP' }, /token_type/],
      ['expires_in "soon"', { access_token: LEAKY_TOKEN, token_type: 'Bearer', expires_in: 'soon' }, /expires_in/],
      ['a negative expires_in', { access_token: LEAKY_TOKEN, token_type: 'Bearer', expires_in: -5 }, /expires_in/],
      ['expires_in 0', { access_token: LEAKY_TOKEN, token_type: 'Bearer', expires_in: 0 }, /expires_in/],
      ['expires_in over a year (ms sent as s)', { access_token: LEAKY_TOKEN, token_type: 'Bearer', expires_in: 3_600_000 * 24 }, /expires_in/],
      ['expires_in under a millisecond (a token expired on arrival)', { access_token: LEAKY_TOKEN, token_type: 'Bearer', expires_in: 0.0001 }, /expires_in/],
      ['expires_in 1e308', { access_token: LEAKY_TOKEN, token_type: 'Bearer', expires_in: 1e308 }, /expires_in/],
      ['expires_in "NaN"', { access_token: LEAKY_TOKEN, token_type: 'Bearer', expires_in: 'NaN' }, /expires_in/],
      ['expires_in "Infinity"', { access_token: LEAKY_TOKEN, token_type: 'Bearer', expires_in: 'Infinity' }, /expires_in/],
      ['expires_in true', { access_token: LEAKY_TOKEN, token_type: 'Bearer', expires_in: true }, /expires_in/],
      ['expires_in null', { access_token: LEAKY_TOKEN, token_type: 'Bearer', expires_in: null }, /expires_in/],
      ['token_type "Bearer " (a trailing space)', { access_token: LEAKY_TOKEN, token_type: 'Bearer ' }, /token_type/],
      ['token_type as a list', { access_token: LEAKY_TOKEN, token_type: ['Bearer'] }, /token_type/],
      ['an access_token with CR LF (header injection)', { access_token: `${LEAKY_TOKEN}\r\nX-Injected: 1`, token_type: 'Bearer' }, /header cannot carry/],
      ['a non-ASCII access_token', { access_token: `${LEAKY_TOKEN}\u00e9`, token_type: 'Bearer' }, /header cannot carry/],
      ['a numeric scope', { access_token: LEAKY_TOKEN, token_type: 'Bearer', scope: 42 }, /`scope`/],
      ['a numeric refresh_token', { access_token: LEAKY_TOKEN, token_type: 'Bearer', refresh_token: 7 }, /`refresh_token`/],
      ['an id_token that is no JWT', { access_token: LEAKY_TOKEN, token_type: 'Bearer', id_token: 'not-a-jwt' }, /`id_token`/],
    ];
    for (const [name, fields, field] of cases) {
      it(`rejects ${name} for good, naming the field, never the token`, async () => {
        reply = body(fields);
        const failure = await failureOf(source());
        expect(failure).to.include({ kind: 'invalid-token-response', status: 200, retryable: false });
        expect(failure.message).to.match(field);
      });
    }

    const context: TokenSourceContext = { signal: new AbortController().signal, reason: 'initial', report: () => {} };

    it('reads a `__proto__` key as a plain field: the fields inside it are no token, and no prototype changes', async () => {
      for (const raw of [
        `{"__proto__":{"access_token":"${LEAKY_TOKEN}","token_type":"Bearer"}}`,
        '{"access_token":"ok-token","token_type":"Bearer","__proto__":{"polluted":true,"expires_in":1}}',
      ]) {
        reply = (res) => send(res, 200, raw);
        const outcome = await Promise.resolve(source()(context)).catch((error: unknown) => error);
        if (raw.startsWith('{"__proto__"')) expect(outcome).to.include({ kind: 'invalid-token-response' }).and.have.property('message').that.matches(/access_token/);
        else expect(outcome).to.deep.equal({ value: 'ok-token', type: 'Bearer', expiresAt: NOW + 3_600_000 });
      }
      expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
      expect(({} as Record<string, unknown>)['access_token']).to.equal(undefined);
    });

    it('takes a numeric-string expires_in ("3600", as some servers send) and a lower-case bearer', async () => {
      reply = body({ access_token: 'ok-token', token_type: 'bearer', expires_in: '3600' });
      expect(await source()(context)).to.deep.equal({ value: 'ok-token', type: 'Bearer', expiresAt: NOW + 3_600_000 });
    });

    it('gives a token without expires_in the documented default lifetime, or none with Infinity', async () => {
      reply = body({ access_token: 'ok-token', token_type: 'Bearer' });
      expect(await source()(context)).to.deep.equal({ value: 'ok-token', type: 'Bearer', expiresAt: NOW + 3_600_000 });
      const lasting = clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scheduler, defaultExpiresInMs: Infinity });
      expect(await lasting(context)).to.deep.equal({ value: 'ok-token', type: 'Bearer' });
    });
  });
});
