import { inspect } from 'node:util';
import { expect } from 'chai';
import { TokenStream, authFetch, isTokenError, type Token } from 'rx-token-stream';
import { listen, type LoopbackServer } from '../../support/loopback.js';

const SECRET = 'secret-token-7f3a9c';

/** Asserts that no way of printing `error` shows the token. */
function expectNoToken(error: unknown): void {
  expect(error).to.be.instanceOf(Error);
  const printed = [
    (error as Error).message,
    String(error),
    inspect(error, { depth: null }),
    inspect(error, { depth: null, showHidden: true }),
    JSON.stringify(error),
    JSON.stringify((error as Error).cause ?? null),
  ];
  for (const text of printed) expect(text).not.to.include('secret-token');
}

describe('authFetch errors never carry the token', () => {
  let refused: string;
  let denying: LoopbackServer;

  before(async () => {
    // A port that was just listened on and is closed again: connections to it are refused.
    const gone = await listen(() => undefined);
    refused = gone.origin;
    await gone.close();
    denying = await listen((req, res) => {
      req.resume();
      res.writeHead(401).end();
    });
  });
  after(() => denying.close());

  for (const [name, impl] of [
    ['node-fetch', undefined],
    ['global fetch', globalThis.fetch],
  ] as const) {
    it(`on a network failure (${name})`, async () => {
      let calls = 0;
      const tokens = new TokenStream({ source: async () => ({ value: `${SECRET}-${++calls}` }) });
      const fetch = impl === undefined ? authFetch(tokens, { origins: [refused] }) : authFetch(tokens, { origins: [refused], fetch: impl });
      const error = await fetch(`${refused}/data?x=1`).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expectNoToken(error);
      expect(calls).to.equal(1);
      tokens.close();
    });
  }

  it('on a refresh failure after a 401', async () => {
    let calls = 0;
    const tokens = new TokenStream({
      retry: { count: 0 },
      source: async ({ previous }): Promise<Token> => {
        calls += 1;
        if (previous !== undefined) throw new Error('authorization server unavailable');
        return { value: SECRET };
      },
    });
    const error = await authFetch(tokens, { origins: [denying.origin] })(`${denying.origin}/`).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_REFRESH');
    expectNoToken(error);
    expect(calls).to.equal(2);
    tokens.close();
  });

  it('when the token cannot be put in a header at all: refused where it enters, after one source call', async () => {
    let calls = 0;
    const tokens = new TokenStream({
      source: async () => {
        calls += 1;
        return { value: `${SECRET}\r\nX-Injected: 1` };
      },
    });
    const error = await authFetch(tokens, { origins: [denying.origin] })(`${denying.origin}/`).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isTokenError(error) && error.code).to.equal('ERR_TOKEN_REFRESH');
    expect((error as Error).message).to.include('header cannot carry');
    expect(calls).to.equal(1);
    expectNoToken(error);
    tokens.close();
  });
});
