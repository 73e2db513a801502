import { expect } from 'chai';
import type { ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import nodeFetch from 'node-fetch';
import {
  OAuthError,
  TokenStream,
  clientCredentials,
  type ClientCredentialsOptions,
  type TokenEvent,
  type TokenFetch,
  type TokenSourceContext,
} from 'rx-token-stream';
import { CLIENT_ID, CLIENT_SECRET, SECRET_FORMS, expectNoSecrets, tokenEndpoint, type Received } from './support.js';

type Echo = (res: ServerResponse, request: Received) => void;

const context = (): TokenSourceContext => ({ signal: new AbortController().signal, reason: 'initial', report: () => {} });

/** What the request carried that holds the secret: its Authorization and its form body. */
const echoOf = ({ headers, body }: Received): string => `${headers.authorization ?? ''} ${body.toString()}`;

async function failureOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => expect.fail('the call resolved'),
    (error: unknown) => error,
  );
}

describe('clientCredentials keeps the client secret out of its errors, whatever the server or transport echoes', () => {
  let echo: Echo;
  let endpoint: Awaited<ReturnType<typeof tokenEndpoint>>;
  before(async () => {
    endpoint = await tokenEndpoint((res, _index, request) => echo(res, request));
  });
  beforeEach(() => endpoint.received.splice(0));
  after(() => endpoint.close());

  const source = (options: Partial<ClientCredentialsOptions> = {}) =>
    clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...options });

  it('names every form of the secret the request carries (the spec checks what it means to)', async () => {
    echo = (res) => res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_request"}');
    await failureOf(Promise.resolve(source()(context())));
    await failureOf(Promise.resolve(source({ clientAuth: 'post' })(context())));
    const [basic, post] = endpoint.received.map(echoOf);
    expect(SECRET_FORMS.filter((form) => basic?.includes(form))).to.have.length.above(0);
    expect(SECRET_FORMS.filter((form) => post?.includes(form))).to.have.length.above(0);
  });

  for (const clientAuth of ['basic', 'post'] as const) {
    describe(`with clientAuth '${clientAuth}'`, () => {
      it('redacts a request echoed into error_description, and keeps the rest of it', async () => {
        echo = (res, request) =>
          res.writeHead(400, { 'content-type': 'application/json' }).end(
            JSON.stringify({ error: 'invalid_client', error_description: `rejected: ${echoOf(request)}` }),
          );
        const error = (await failureOf(Promise.resolve(source({ clientAuth })(context())))) as OAuthError;

        expect(error).to.be.instanceOf(OAuthError).and.include({ kind: 'error-response', error: 'invalid_client', retryable: false });
        expect(error.error_description).to.match(/^rejected: .*\[redacted\]/);
        expectNoSecrets(error);
      });

      it('reaches a TokenStream caller, and its events, as errors that hold no secret (a 429 echo, retried once)', async () => {
        echo = (res, request) =>
          res
            .writeHead(429, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: 'slow_down', error_description: `slow down, ${echoOf(request)}` }));
        const tokens = new TokenStream({ source: source({ clientAuth }), retry: { count: 1, delayMs: 0, jitter: 0 } });
        const events: TokenEvent[] = [];
        tokens.events$.subscribe((event) => events.push(event));
        const error = await failureOf(tokens.getToken());
        tokens.close();

        expect(error).to.include({ code: 'ERR_TOKEN_REFRESH', attempts: 2 });
        expect(events.map((event) => event.type)).to.include.members(['refresh-retry', 'refresh-failure']);
        expectNoSecrets(error);
        for (const form of SECRET_FORMS) expect(inspect(events, { depth: 10 })).not.to.include(form);
      });

      it('redacts a request echoed into `error`, or leaves `error` out when it is not an RFC 6749 code', async () => {
        // The Authorization alone fits RFC 6749's `error` form; the form body is longer than a code.
        echo = (res, request) =>
          res
            .writeHead(400, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: clientAuth === 'basic' ? request.headers.authorization : request.body.toString() }));
        const error = (await failureOf(Promise.resolve(source({ clientAuth })(context())))) as OAuthError;

        expect(error).to.be.instanceOf(OAuthError).and.include({ kind: 'error-response', status: 400 });
        if (clientAuth === 'basic') expect(error.error).to.equal('Basic [redacted]');
        else expect(error.error).to.equal(undefined);
        expectNoSecrets(error);
      });

      it('keeps nothing of a status text, headers or a redirect that carry the secret', async () => {
        echo = (res, request) => {
          const carried = echoOf(request);
          res
            .writeHead(307, `Moved ${carried}`, {
              location: `https://elsewhere.example/token?secret=${encodeURIComponent(CLIENT_SECRET)}`,
              'x-debug-request': carried,
              'www-authenticate': `Basic realm="${carried.replace(/"/g, '')}"`,
              'content-type': 'application/json',
            })
            .end(JSON.stringify({ error: 'moved', error_description: carried }));
        };
        const error = (await failureOf(Promise.resolve(source({ clientAuth })(context())))) as OAuthError;

        expect(error).to.include({ kind: 'http-status', status: 307, retryable: false });
        expectNoSecrets(error);
      });
    });
  }

  describe('a custom fetch whose error carries the request', () => {
    // What a logging or proxy wrapper might throw: the request in its message, its fields
    // and a nested cause, in every form the secret takes.
    const leakyFetch: TokenFetch = async (url, init) => {
      const carried = `${init.headers['authorization'] ?? ''} ${init.body.toString()}`;
      const inner = Object.assign(new Error(`socket hang up while sending ${carried}`), {
        code: 'ECONNRESET',
        request: { url, ...init },
        cause: { init, secret: CLIENT_SECRET },
      });
      throw Object.assign(new TypeError(`fetch failed: ${carried}`), { init, headers: init.headers, body: init.body, cause: inner });
    };

    for (const clientAuth of ['basic', 'post'] as const) {
      it(`keeps only a redacted copy of its name, code and message (clientAuth '${clientAuth}')`, async () => {
        const error = (await failureOf(Promise.resolve(source({ clientAuth, fetch: leakyFetch })(context())))) as OAuthError;

        expect(error).to.be.instanceOf(OAuthError).and.include({ kind: 'network', retryable: true });
        const cause = error.cause as Error & { code?: string };
        expect(cause).to.be.instanceOf(Error);
        expect(cause.name).to.equal('TypeError');
        // The code that names the failure is kept even from the nested cause.
        expect(cause.code).to.equal('ECONNRESET');
        expect(cause.message).to.match(/^fetch failed: .*\[redacted\]/);
        expect(Object.keys(cause).sort()).to.deep.equal(['code', 'name']);
        expect(cause.cause).to.equal(undefined);
        expectNoSecrets(error);
      });
    }

    it('reaches a TokenStream caller as ERR_TOKEN_REFRESH that holds no secret either', async () => {
      const tokens = new TokenStream({ source: source({ clientAuth: 'post', fetch: leakyFetch }), retry: { count: 0 } });
      const error = await failureOf(tokens.getToken());
      tokens.close();

      expect(error).to.include({ code: 'ERR_TOKEN_REFRESH' });
      expect((error as Error).cause).to.be.instanceOf(OAuthError);
      expectNoSecrets(error);
      for (const form of SECRET_FORMS) expect(inspect(error, { depth: 10 })).not.to.include(form);
    });

    it('copies a thrown string, a Proxy with throwing getters, and an error with a hostile name and code safely', async () => {
      const hostile: unknown[] = [
        `request was ${CLIENT_SECRET}`,
        new Proxy(new Error('x'), {
          get() {
            throw new Error(CLIENT_SECRET);
          },
        }),
        Object.assign(new Error('refused'), { name: `Err ${CLIENT_SECRET}`, code: CLIENT_SECRET }),
      ];
      for (const thrown of hostile) {
        const error = (await failureOf(Promise.resolve(source({ fetch: () => Promise.reject(thrown) })(context())))) as OAuthError;
        expect(error).to.include({ kind: 'network', retryable: true });
        expect(error.cause).to.be.instanceOf(Error);
        expectNoSecrets(error);
      }
    });

    it('keeps a transport error that holds no secret readable (ECONNREFUSED from node-fetch)', async () => {
      const error = (await failureOf(
        Promise.resolve(
          clientCredentials({ tokenUrl: 'http://127.0.0.1:9/token', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fetch: nodeFetch })(context()),
        ),
      )) as OAuthError;
      expect(error.cause).to.include({ name: 'FetchError', code: 'ECONNREFUSED' });
      expect((error.cause as Error).message).to.include('ECONNREFUSED');
    });
  });
});
