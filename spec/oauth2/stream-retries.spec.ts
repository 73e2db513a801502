import { expect } from 'chai';
import type { ServerResponse } from 'node:http';
import sinon from 'sinon';
import { OAuthError, TokenStream, clientCredentials, type ClientCredentialsOptions, type RefreshRetryEvent, type TokenError, type TokenStreamOptions } from 'rx-token-stream';
import { CLIENT_ID, CLIENT_SECRET, expectNoSecrets, send, tokenEndpoint, virtualClock } from './support.js';

const granted = (res: ServerResponse): void => send(res, 200, { access_token: 'fresh-token', token_type: 'Bearer', expires_in: 300 });

describe('clientCredentials in a TokenStream: what is retried, and when', () => {
  // Answers request n with replies[n], and the last reply from then on.
  let replies: ((res: ServerResponse) => void)[];
  let endpoint: Awaited<ReturnType<typeof tokenEndpoint>>;
  let tokens: TokenStream | undefined;

  before(async () => {
    endpoint = await tokenEndpoint((res, index) => (replies[index] ?? replies[replies.length - 1])?.(res));
  });
  beforeEach(() => endpoint.received.splice(0));
  afterEach(() => tokens?.close());
  after(() => endpoint.close());

  /** A stream on a virtual clock whose backoff timers fire as soon as they are set. */
  function stream(options: Partial<TokenStreamOptions> = {}, sourceOptions: Partial<ClientCredentialsOptions> = {}) {
    const clock = virtualClock();
    const source = sinon.spy(clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scheduler: clock.scheduler, ...sourceOptions }));
    tokens = new TokenStream({ source, scheduler: clock.scheduler, retry: { count: 2, delayMs: 250, jitter: 0 }, ...options });
    const retries: RefreshRetryEvent[] = [];
    tokens.events$.subscribe((event) => event.type === 'refresh-retry' && retries.push(event));
    return { tokens, source, retries, ...clock };
  }

  /** Settles once the refresh schedules a retry, or gives up: a spec waits for either, and fails on the wrong one. */
  const retriedOrFailed = (tokens: TokenStream): Promise<void> =>
    new Promise((resolve) => tokens.events$.subscribe((event) => (event.type === 'refresh-retry' || event.type === 'refresh-failure') && resolve()));

  const failureOf = (promise: Promise<unknown>): Promise<TokenError> =>
    promise.then(
      () => expect.fail('getToken resolved'),
      (error: TokenError) => error,
    );

  it('does not retry invalid_grant: one request, one attempt, the OAuthError as cause', async () => {
    replies = [(res) => send(res, 400, { error: 'invalid_grant' })];
    const { tokens, retries } = stream();

    const error = await failureOf(tokens.getToken());

    expect(endpoint.received).to.have.length(1);
    expect(retries).to.have.length(0);
    expect(error).to.include({ code: 'ERR_TOKEN_REFRESH', attempts: 1 });
    expect(error.cause).to.be.instanceOf(OAuthError).and.include({ error: 'invalid_grant', status: 400 });
    expectNoSecrets(error);
  });

  it('retries a 502 with the normal backoff until the attempts run out: three requests', async () => {
    replies = [(res) => send(res, 502, 'bad gateway', { 'content-type': 'text/plain' })];
    const { tokens, retries, scheduler, advanceTo } = stream();
    tokens.events$.subscribe((event) => {
      // The timer is set right after the event: move the clock once it is.
      if (event.type === 'refresh-retry') queueMicrotask(() => advanceTo(scheduler.now() + event.delayMs));
    });

    const error = await failureOf(tokens.getToken());

    expect(endpoint.received).to.have.length(3);
    expect(retries.map((event) => event.delayMs)).to.deep.equal([250, 500]);
    expect(error).to.include({ code: 'ERR_TOKEN_REFRESH', attempts: 3 });
    expectNoSecrets(error);
  });

  it("waits out a 429's Retry-After of exactly maxRetryAfterMs, to the millisecond, before the next request", async () => {
    replies = [(res) => send(res, 429, { error: 'rate_limited' }, { 'retry-after': '5' }), granted];
    const { tokens, source, retries, advanceTo } = stream({}, { maxRetryAfterMs: 5_000 });

    const pending = tokens.getToken();
    pending.catch(() => {});
    await retriedOrFailed(tokens);
    expect(retries.map((event) => event.delayMs)).to.deep.equal([5_000]);
    advanceTo(4_999);
    expect(source.callCount).to.equal(1);
    advanceTo(5_000);
    expect(source.callCount).to.equal(2);

    expect(await pending).to.deep.include({ value: 'fresh-token', expiresAt: 5_000 + 300_000 });
    expect(endpoint.received).to.have.length(2);
  });

  it('falls back to the normal backoff for a garbage Retry-After on a 503', async () => {
    replies = [(res) => send(res, 503, 'busy', { 'content-type': 'text/plain', 'retry-after': 'later' }), granted];
    const { tokens, source, retries, advanceTo } = stream();

    const pending = tokens.getToken();
    await retriedOrFailed(tokens);
    expect(retries.map((event) => event.delayMs)).to.deep.equal([250]);
    advanceTo(249);
    expect(source.callCount).to.equal(1);
    advanceTo(250);

    expect(await pending).to.deep.include({ value: 'fresh-token' });
    expect(endpoint.received).to.have.length(2);
  });

  it('fails at once when Retry-After asks for longer than maxRetryAfterMs, instead of holding every waiter', async () => {
    replies = [(res) => send(res, 429, { error: 'rate_limited' }, { 'retry-after': '120' }), granted];
    const { tokens, retries } = stream();

    const error = await failureOf(tokens.getToken());

    expect(endpoint.received).to.have.length(1);
    expect(retries).to.have.length(0);
    expect(error.cause).to.include({ retryable: false, retryAfterMs: 120_000, status: 429 });
  });

  it('fails at once on a Retry-After one ms longer than maxRetryAfterMs', async () => {
    replies = [(res) => send(res, 429, { error: 'rate_limited' }, { 'retry-after': '5' }), granted];
    const { tokens, retries } = stream({}, { maxRetryAfterMs: 4_999 });

    const error = await failureOf(tokens.getToken());

    expect(endpoint.received).to.have.length(1);
    expect(retries).to.have.length(0);
    expect(error).to.include({ attempts: 1 });
    expect(error.cause).to.include({ retryable: false, retryAfterMs: 5_000 });
  });

  it('lets a later call wait out the rest of a long Retry-After once the rest is exactly maxRetryAfterMs, not a ms before', async () => {
    replies = [(res) => send(res, 429, { error: 'rate_limited' }, { 'retry-after': '120' }), granted];
    const { scheduler, advanceTo } = virtualClock();
    const source = clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scheduler });
    const context = { signal: new AbortController().signal, reason: 'initial' as const, report: () => {} };
    const failure = (): Promise<unknown> => source(context).then(() => expect.fail('the source resolved'), (error: unknown) => error);

    await failure();
    advanceTo(59_999);
    expect(await failure()).to.include({ kind: 'retry-after', retryAfterMs: 60_001, retryable: false });
    advanceTo(60_000);
    expect(await failure()).to.include({ kind: 'retry-after', retryAfterMs: 60_000, retryable: true });
    expect(endpoint.received).to.have.length(1);
  });

  it('keeps to a long Retry-After across refreshes: later demands fail without a request until it passes', async () => {
    replies = [(res) => send(res, 429, { error: 'rate_limited' }, { 'retry-after': '120' }), granted];
    const { tokens, advanceTo } = stream();

    await failureOf(tokens.getToken());
    advanceTo(30_000);
    const meanwhile = await failureOf(tokens.getToken());
    // 90 s still to go, more than maxRetryAfterMs: fail now, and send nothing.
    expect(meanwhile.cause).to.include({ kind: 'retry-after', retryAfterMs: 90_000, retryable: false });
    expect(endpoint.received).to.have.length(1);

    advanceTo(120_000);
    expect(await tokens.getToken()).to.include({ value: 'fresh-token' });
    expect(endpoint.received).to.have.length(2);
  });

  it('makes a call inside a shorter Retry-After wait out the rest (retryable, no request), and lets it through after', async () => {
    replies = [(res) => send(res, 429, { error: 'rate_limited' }, { 'retry-after': '30' }), granted];
    const { scheduler, advanceTo } = virtualClock();
    const source = clientCredentials({ tokenUrl: endpoint.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scheduler });
    const context = { signal: new AbortController().signal, reason: 'initial' as const, report: () => {} };

    await source(context).catch(() => {});
    advanceTo(10_000);
    const error: unknown = await source(context).catch((failure: unknown) => failure);
    expect(error).to.include({ kind: 'retry-after', retryAfterMs: 20_000, retryable: true });
    expect(endpoint.received).to.have.length(1);

    // A timer may fire a hair early; the gate allows for it.
    advanceTo(30_000 - 100);
    expect(await source(context)).to.include({ value: 'fresh-token' });
    expect(endpoint.received).to.have.length(2);
  });
});
