import { expect } from 'chai';
import { EventEmitter, once } from 'node:events';
import type { ServerResponse } from 'node:http';
import nodeFetch from 'node-fetch';
import type { SchedulerLike } from 'rxjs';
import { OAuthError, TokenStream, clientCredentials, type TokenError, type TokenFetch } from 'rx-token-stream';
import { listen, type LoopbackServer } from '../support/loopback.js';
import { CLIENT_ID, CLIENT_SECRET, expectNoSecrets, virtualClock } from './support.js';

describe('clientCredentials cancels its HTTP request when the stream gives up on it', () => {
  // 'arrived' when a request is in; 'hung-up' when the client closed it before an answer.
  const seen = new EventEmitter();
  let stall: (res: ServerResponse) => void;
  let server: LoopbackServer;
  let requests = 0;
  let hangUps = 0;
  let tokens: TokenStream | undefined;

  before(async () => {
    server = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        requests += 1;
        res.on('close', () => {
          if (res.writableFinished) return;
          hangUps += 1;
          seen.emit('hung-up');
        });
        stall(res);
        seen.emit('arrived');
      });
    });
  });
  beforeEach(() => {
    requests = 0;
    hangUps = 0;
    // By default the endpoint never answers.
    stall = () => {};
  });
  afterEach(() => tokens?.close());
  after(() => server.close());

  const options = (scheduler?: SchedulerLike) => ({
    tokenUrl: `${server.origin}/token`,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    ...(scheduler === undefined ? {} : { scheduler }),
  });
  const failureOf = (promise: Promise<unknown>): Promise<TokenError> =>
    promise.then(
      () => expect.fail('getToken resolved'),
      (error: TokenError) => error,
    );

  it("aborts each timed-out request (the server sees it closed) and retries it as transient", async () => {
    const { scheduler, advanceTo } = virtualClock();
    tokens = new TokenStream({ source: clientCredentials(options(scheduler)), scheduler, timeoutMs: 1_000, retry: { count: 1, delayMs: 250, jitter: 0 } });

    const failure = failureOf(tokens.getToken());
    await once(seen, 'arrived');
    advanceTo(1_000);
    await once(seen, 'hung-up');
    expect(requests).to.equal(1);
    advanceTo(1_250);
    await once(seen, 'arrived');
    advanceTo(2_250);
    await once(seen, 'hung-up');

    expect(await failure).to.include({ code: 'ERR_TOKEN_TIMEOUT', attempts: 2 });
    expect([requests, hangUps]).to.deep.equal([2, 2]);
  });

  it('aborts a request whose body is still arriving when the timeout strikes', async () => {
    const { scheduler, advanceTo } = virtualClock();
    stall = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":"half-');
    };
    tokens = new TokenStream({ source: clientCredentials(options(scheduler)), scheduler, timeoutMs: 1_000, retry: { count: 0 } });

    const failure = failureOf(tokens.getToken());
    await once(seen, 'arrived');
    advanceTo(1_000);
    await once(seen, 'hung-up');

    expect(await failure).to.include({ code: 'ERR_TOKEN_TIMEOUT', attempts: 1 });
  });

  // 'responded' once the client has a response's headers, so that the timeout strikes mid-body.
  const announcing = (fetch: TokenFetch): TokenFetch => async (url, init) => {
    const response = await fetch(url, init);
    seen.emit('responded');
    return response;
  };
  // A wrapper (for logging, say) that drops the signal: only the body read can still stop.
  const signalDropping: TokenFetch = (url, init) => nodeFetch(url, { ...init, signal: null });
  const halfBody = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"access_token":"half-');
  };

  for (const [name, fetch] of [['the global fetch', globalThis.fetch], ['a fetch wrapper that drops the signal', signalDropping]] as const) {
    it(`stops reading a body that never ends when the timeout strikes, with ${name}: the server sees the hang-up`, async () => {
      const { scheduler, advanceTo } = virtualClock();
      stall = halfBody;
      tokens = new TokenStream({ source: clientCredentials({ ...options(scheduler), fetch: announcing(fetch) }), scheduler, timeoutMs: 1_000, retry: { count: 0 } });

      const failure = failureOf(tokens.getToken());
      await once(seen, 'responded');
      advanceTo(1_000);
      await once(seen, 'hung-up');

      expect(await failure).to.include({ code: 'ERR_TOKEN_TIMEOUT', attempts: 1 });
      expect(hangUps).to.equal(1);
    });
  }

  it('closes the body of a response that a signal-dropping fetch hands over only after the timeout', async () => {
    const { scheduler, advanceTo } = virtualClock();
    let answer = (): void => {};
    stall = (res) => (answer = () => halfBody(res));
    tokens = new TokenStream({ source: clientCredentials({ ...options(scheduler), fetch: announcing(signalDropping) }), scheduler, timeoutMs: 1_000, retry: { count: 0 } });

    const failure = failureOf(tokens.getToken());
    await once(seen, 'arrived');
    advanceTo(1_000);
    expect(await failure).to.include({ code: 'ERR_TOKEN_TIMEOUT', attempts: 1 });
    answer();
    await once(seen, 'hung-up');

    expect(hangUps).to.equal(1);
  });

  it('aborts the request in flight on close()', async () => {
    tokens = new TokenStream({ source: clientCredentials(options()) });

    const failure = failureOf(tokens.getToken());
    await once(seen, 'arrived');
    tokens.close();
    await once(seen, 'hung-up');

    expect(await failure).to.include({ code: 'ERR_TOKEN_CLOSED' });
    expect(hangUps).to.equal(1);
  });

  it("rejects with a retryable network OAuthError when the caller's signal aborts, and the server sees the hang-up", async () => {
    const controller = new AbortController();
    const source = clientCredentials(options());

    const call = Promise.resolve(source({ signal: controller.signal, reason: 'initial', report: () => {} })).then(
      () => expect.fail('the source resolved'),
      (error: unknown) => error,
    );
    await once(seen, 'arrived');
    controller.abort();
    await once(seen, 'hung-up');

    const error = await call;
    expect(error).to.be.instanceOf(OAuthError).and.include({ kind: 'network', retryable: true });
    expect((error as OAuthError).cause).to.have.property('name', 'AbortError');
    expectNoSecrets(error);
  });
});
