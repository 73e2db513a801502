import { expect } from 'chai';
import type { ServerResponse } from 'node:http';
import nodeFetch from 'node-fetch';
import { OAuthError, TokenStream, clientCredentials, type TokenFetch, type TokenSourceContext } from 'rx-token-stream';
import { CLIENT_ID, CLIENT_SECRET, expectNoSecrets, send, tokenEndpoint } from './support.js';

const MiB = 1_048_576;
const HUGE = 64 * MiB;
const CHUNK = Buffer.alloc(64 * 1024, 'a');
const context = (): TokenSourceContext => ({ signal: new AbortController().signal, reason: 'initial', report: () => {} });

/** How one streamed response ended: bytes the server's socket accepted, and whether all of them were. */
interface Streamed {
  written: number;
  finished: boolean;
}

/**
 * Streams a 64 MiB token response (a valid one, if ever read to the end), as fast as the
 * client takes it, and settles with what was written when the connection closed.
 */
function streamHuge(res: ServerResponse, status: number, headers: Record<string, string>): Promise<Streamed> {
  return new Promise((resolve) => {
    let written = 0;
    res.on('close', () => resolve({ written, finished: res.writableFinished }));
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    const head = '{"token_type":"Bearer","access_token":"';
    const tail = '"}';
    res.write(head);
    written += head.length;
    const pump = (): void => {
      while (!res.destroyed && written + CHUNK.length <= HUGE - tail.length) {
        written += CHUNK.length;
        if (!res.write(CHUNK)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end('a'.repeat(HUGE - tail.length - written) + tail);
    };
    pump();
  });
}

describe('clientCredentials reads at most maxResponseBytes of a token response', () => {
  let reply: (res: ServerResponse) => void;
  let streamed: Promise<Streamed>[];
  let endpoint: Awaited<ReturnType<typeof tokenEndpoint>>;
  before(async () => {
    endpoint = await tokenEndpoint((res) => reply(res));
  });
  beforeEach(() => {
    endpoint.received.splice(0);
    streamed = [];
  });
  after(() => endpoint.close());

  const huge = (status: number, headers: Record<string, string> = {}) => (res: ServerResponse) => streamed.push(streamHuge(res, status, headers));
  const failureOf = (call: Promise<unknown>): Promise<OAuthError> =>
    call.then(
      () => expect.fail('the call resolved'),
      (error: OAuthError) => error,
    );

  const transports: [string, TokenFetch][] = [
    ['node-fetch', nodeFetch],
    ['the global fetch', globalThis.fetch],
  ];
  for (const [name, fetch] of transports) {
    describe(`with ${name}`, () => {
      const source = (maxResponseBytes?: number) =>
        clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fetch, ...(maxResponseBytes === undefined ? {} : { maxResponseBytes }) });

      it('refuses a 64 MiB chunked response once 1 MiB (the default) has arrived, and closes the connection long before the end', async () => {
        reply = huge(200);
        const error = await failureOf(Promise.resolve(source()(context())));

        expect(error).to.be.instanceOf(OAuthError).and.include({ kind: 'response-too-large', status: 200, retryable: false });
        expect(error.message).to.equal(`Token endpoint answered 200 with more than ${MiB} bytes (maxResponseBytes)`);
        expectNoSecrets(error);
        const { written, finished } = await streamed[0]!;
        expect(finished).to.equal(false);
        // What the sockets' buffers took before the close: a few MiB at most, not 64.
        expect(written).to.be.below(HUGE / 4);
      });

      it('refuses by Content-Length before reading the body', async () => {
        reply = huge(200, { 'content-length': String(HUGE) });
        const error = await failureOf(Promise.resolve(source()(context())));

        expect(error).to.include({ kind: 'response-too-large', retryable: false });
        const { written, finished } = await streamed[0]!;
        expect([finished, written < HUGE / 4]).to.deep.equal([false, true]);
      });

      it('refuses an error response that is too long as well (a proxy page of 64 MiB)', async () => {
        reply = huge(502);
        const error = await failureOf(Promise.resolve(source()(context())));

        expect(error).to.include({ kind: 'response-too-large', status: 502, retryable: false });
        expect((await streamed[0]!).finished).to.equal(false);
      });

      it('takes a body of exactly maxResponseBytes, and refuses one byte more, chunked or with Content-Length', async () => {
        const body = JSON.stringify({ access_token: 'just-fits', token_type: 'Bearer', expires_in: 60 });
        const answers: [string, (res: ServerResponse) => void][] = [
          ['Content-Length', (res) => send(res, 200, body)],
          ['chunked', (res) => res.writeHead(200, { 'content-type': 'application/json' }).write(body.slice(0, 10), () => res.end(body.slice(10)))],
        ];
        for (const [framing, answer] of answers) {
          reply = answer;
          expect(await source(body.length)(context()), framing).to.include({ value: 'just-fits' });
          const error = await failureOf(Promise.resolve(source(body.length - 1)(context())));
          expect(error, framing).to.include({ kind: 'response-too-large', retryable: false });
        }
      });
    });
  }

  it('fails a TokenStream refresh after one request, not after its retries', async () => {
    reply = huge(200);
    const tokens = new TokenStream({
      source: clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, maxResponseBytes: 64 * 1024 }),
      retry: { count: 2, delayMs: 0, jitter: 0 },
    });
    const error = await failureOf(tokens.getToken());
    tokens.close();

    expect(error).to.include({ code: 'ERR_TOKEN_REFRESH', attempts: 1 });
    expect(error.cause).to.be.instanceOf(OAuthError).and.include({ kind: 'response-too-large' });
    expect(endpoint.received).to.have.length(1);
    expect((await streamed[0]!).finished).to.equal(false);
  });

  it('refuses a transport that only offers arrayBuffer(), once it is read', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ access_token: 'x'.repeat(2_000), token_type: 'Bearer' }));
    const wholeOnly: TokenFetch = async () => ({ status: 200, headers: new Headers({ 'content-type': 'application/json' }), arrayBuffer: async () => bytes.buffer });
    const source = clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fetch: wholeOnly, maxResponseBytes: 1_000 });

    expect(await failureOf(Promise.resolve(source(context())))).to.include({ kind: 'response-too-large', retryable: false });
  });
});
