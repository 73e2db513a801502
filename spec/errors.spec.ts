import { expect } from 'chai';
import { inspect } from 'node:util';
import { firstValueFrom } from 'rxjs';
import { TokenError, TokenStream, isTokenError, type Token, type TokenEvent } from 'rx-token-stream';

const SECRET = 'eyJ-secret-token-value';

/** Every way the stream can show an error to a log. */
function renderings(error: unknown): string[] {
  return [(error as Error).message, inspect(error, { depth: 5 }), JSON.stringify(error), String(error)];
}

describe('errors (13)', () => {
  it('gives TokenError a stable code, its name and the standard cause', () => {
    const cause = new Error('socket hang up');
    const error = new TokenError('ERR_TOKEN_REFRESH', 'Token refresh failed', { cause, attempts: 3 });
    expect(error).to.be.instanceOf(Error);
    expect(error).to.include({ name: 'TokenError', code: 'ERR_TOKEN_REFRESH', attempts: 3 });
    expect(error.cause).to.equal(cause);
    expect(JSON.parse(JSON.stringify(error))).to.deep.equal({
      name: 'TokenError',
      code: 'ERR_TOKEN_REFRESH',
      message: 'Token refresh failed',
      attempts: 3,
    });
    expect('cause' in new TokenError('ERR_TOKEN_CLOSED', 'closed')).to.equal(false);
  });

  it('recognises a TokenError from another copy of the package by its brand, not instanceof', () => {
    const foreign = { [Symbol.for('rx-token-stream.TokenError')]: true, code: 'ERR_TOKEN_CLOSED' };
    expect(isTokenError(foreign)).to.equal(true);
    expect(isTokenError(new TokenError('ERR_OAUTH', 'x'))).to.equal(true);
    for (const value of [new Error('x'), null, undefined, 'ERR_TOKEN_CLOSED', { code: 'ERR_TOKEN_CLOSED' }]) {
      expect(isTokenError(value)).to.equal(false);
    }
  });

  it('rejects with ERR_TOKEN_REFRESH whose cause is the source error and attempts the calls made', async () => {
    const cause = new Error('HTTP 503');
    const tokens = new TokenStream({ source: () => Promise.reject(cause), retry: { count: 0 } });
    const error: unknown = await tokens.getToken().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TokenError);
    expect(error).to.include({ code: 'ERR_TOKEN_REFRESH', attempts: 1, cause });
    tokens.close();
  });

  it('never shows a token value in the message, inspect or JSON of any error the stream raises', async () => {
    let calls = 0;
    const tokens = new TokenStream({
      // 1: a good token; 2: a malformed one carrying a secret; 3: an expired one.
      source: async () => [{ value: SECRET }, { value: `${SECRET}-2`, expiresAt: 'soon' }, { value: `${SECRET}-3`, expiresAt: -1 }][calls++] as Token,
      retry: { count: 0 },
    });
    const events: TokenEvent[] = [];
    tokens.events$.subscribe((event) => events.push(event));
    const errors: unknown[] = [];
    tokens.invalidate(await tokens.getToken());
    errors.push(await tokens.getToken().catch((e: unknown) => e));
    errors.push(await tokens.getToken().catch((e: unknown) => e));
    errors.push(await tokens.getToken({ signal: AbortSignal.abort() }).catch((e: unknown) => e));
    tokens.close();
    errors.push(await firstValueFrom(tokens.token$).catch((e: unknown) => e));
    expect(errors.map((e) => (e as TokenError).code)).to.deep.equal(['ERR_TOKEN_REFRESH', 'ERR_TOKEN_REFRESH', 'ERR_TOKEN_ABORTED', 'ERR_TOKEN_CLOSED']);
    for (const text of [...errors.flatMap(renderings), ...events.map((event) => inspect(event, { depth: 6 }) + JSON.stringify(event))]) {
      expect(text).to.not.include(SECRET);
    }
  });

  it('keeps the cause out of message and JSON, and leaves it visible to inspect by design', async () => {
    // A source that leaks a secret into its own error: our error does not repeat it, but
    // inspect shows the cause, which is what a log needs to explain the failure.
    const leaky = new Error(`upstream rejected ${SECRET}`);
    const tokens = new TokenStream({ source: () => Promise.reject(leaky), retry: { count: 0 } });
    const error = (await tokens.getToken().catch((e: unknown) => e)) as TokenError;
    expect(error.message).to.not.include(SECRET);
    expect(JSON.stringify(error)).to.not.include(SECRET);
    expect(inspect(error)).to.include('upstream rejected');
    tokens.close();
  });
});
