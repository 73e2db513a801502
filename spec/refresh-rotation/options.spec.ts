import { expect } from 'chai';
import { TokenStream, memoryCredentialStore, refreshTokenGrant, type RefreshTokenGrantOptions } from 'rx-token-stream';
import { rejectionOf, wrapStore } from './support.js';

const base = (): RefreshTokenGrantOptions => ({
  tokenUrl: 'https://auth.example.com/oauth/token',
  clientId: 'app',
  clientSecret: 'secret-never-in-a-message',
  store: memoryCredentialStore(),
});

describe('refreshTokenGrant options', () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['options', { store: undefined }, /option `store` must be a CredentialStore/],
    ['store', { store: { get: () => undefined } }, /option `store` must be a CredentialStore \(with get, put, lease, release, save, fail\)/],
    ['store.changed', { store: wrapStore(memoryCredentialStore(), { changed: 'soon' as never }) }, /option `store` must be a CredentialStore whose `changed` is a function/],
    ['credentialKey', { credentialKey: '' }, /option `credentialKey` must be a non-empty string/],
    ['reuseGraceMs', { reuseGraceMs: -1 }, /option `reuseGraceMs` must be a finite number >= 0/],
    ['reuseGraceMs', { reuseGraceMs: Infinity }, /option `reuseGraceMs`/],
    ['leaseMs', { leaseMs: 0 }, /option `leaseMs` must be a number from 1/],
    ['leaseMs', { leaseMs: 2 ** 31 }, /option `leaseMs`/],
    ['leaseMs', { reuseGraceMs: 10_000, leaseMs: 10_000 }, /option `leaseMs` must be shorter than reuseGraceMs/],
    ['pollMs', { pollMs: 0 }, /option `pollMs` must be a number from 1/],
    ['clientSecret', { clientSecret: '' }, /option `clientSecret` must be a non-empty string, or absent for a public client/],
    ['clientAuth', { clientAuth: 'none' }, /option `clientAuth` must be 'none' exactly when there is no clientSecret/],
    ['clientAuth', { clientAuth: 'jwt' }, /option `clientAuth` must be 'basic', 'post' or 'none'/],
    ['tokenUrl', { tokenUrl: 'http://auth.example.com/token' }, /option `tokenUrl` must be https:/],
    ['scope', { scope: [] }, /option `scope`/],
  ];
  for (const [name, override, message] of bad) {
    it(`refuses a bad ${name} with a TypeError naming it, never the secret`, () => {
      const options = { ...base(), ...override } as RefreshTokenGrantOptions;
      expect(() => refreshTokenGrant(options))
        .to.throw(TypeError, /^refreshTokenGrant: /)
        .with.property('message')
        .that.matches(message)
        .and.does.not.include('secret-never-in-a-message');
    });
  }

  it('refuses a missing options object, and a bare function, with a hint', () => {
    expect(() => refreshTokenGrant(undefined as never)).to.throw(TypeError, /refreshTokenGrant: option `options` must be an object with `tokenUrl, clientId, store`/);
    expect(() => refreshTokenGrant((() => {}) as never)).to.throw(TypeError, /not a function/);
  });

  it('takes a public client without a secret (clientAuth none by default), and a reuseGraceMs without leaseMs (the lease is half of it)', () => {
    const { clientSecret: _secret, ...rest } = base();
    expect(refreshTokenGrant(rest)).to.be.a('function');
    expect(refreshTokenGrant({ ...base(), reuseGraceMs: 4_000 })).to.be.a('function');
  });

  it('fails a call that has neither a TokenStreams key nor credentialKey, with a TypeError that is not retried', async () => {
    let calls = 0;
    const source = refreshTokenGrant(base());
    const tokens = new TokenStream({
      source: (context) => {
        calls += 1;
        return source(context);
      },
    });
    const error = (await rejectionOf(tokens.getToken())) as Error;
    tokens.close();
    expect(error).to.include({ code: 'ERR_TOKEN_REFRESH', attempts: 1 });
    expect(error.cause).to.be.instanceOf(TypeError).with.property('message').that.matches(/pass `credentialKey`/);
    expect(calls).to.equal(1);
  });
});
