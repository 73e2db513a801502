import { expect } from 'chai';
import { authorization, rejectsToken, sentCopy, sentTokens, tokenOfHeader } from '../../lib/http/token-header.js';

const answer = (status: number, challenge?: string) => ({
  status,
  headers: { get: (name: string) => (name === 'www-authenticate' ? (challenge ?? null) : null) },
});

describe('token header', () => {
  describe('rejectsToken', () => {
    it('treats every 401 as a rejection', () => {
      expect(rejectsToken(answer(401), { value: 'x' })).to.equal(true);
    });

    it('finds error="invalid_token" in a challenge for the token scheme, on any error status', () => {
      for (const challenge of [
        'Bearer error="invalid_token"',
        'Bearer realm="api", error="invalid_token", error_description="The access token expired"',
        'bearer ERROR=invalid_token',
        'Basic realm="x", Bearer error="invalid_token"',
        'Bearer realm="a,b", error="invalid_token"',
      ]) {
        expect(rejectsToken(answer(403, challenge), { value: 'x' }), challenge).to.equal(true);
      }
      expect(rejectsToken(answer(400, 'DPoP error="invalid_token"'), { value: 'x', type: 'DPoP' })).to.equal(true);
      expect(rejectsToken(answer(500, 'Bearer error="invalid_token"'), { value: 'x' })).to.equal(true);
    });

    it('never takes a success for a rejection, whatever its challenge: a retry would send a served request twice', () => {
      for (const status of [200, 201, 204, 304]) {
        expect(rejectsToken(answer(status, 'Bearer error="invalid_token"'), { value: 'x' }), String(status)).to.equal(false);
      }
    });

    it('does not take another error, another scheme or a look-alike for it', () => {
      for (const challenge of [
        'Bearer error="insufficient_scope"',
        'Bearer realm="x", Basic error="invalid_token"',
        'Bearer error="invalid_token_x"',
        'Bearer error_description="invalid_token"',
        'DPoP error="invalid_token"',
        'Bearerx error="invalid_token"',
      ]) {
        expect(rejectsToken(answer(403, challenge), { value: 'x' }), challenge).to.equal(false);
      }
      expect(rejectsToken(answer(200), { value: 'x' })).to.equal(false);
    });
  });

  describe('sentCopy', () => {
    it('is a frozen copy of the value and type only, unchanged by later changes to the token', () => {
      const token = { value: 'a', type: 'DPoP', expiresAt: 1, extra: 'x' };
      const copy = sentCopy(token);
      token.value = 'b';
      expect(copy).to.deep.equal({ value: 'a', type: 'DPoP' });
      expect(Object.isFrozen(copy)).to.equal(true);
      expect(sentCopy({ value: 'a' })).to.deep.equal({ value: 'a' });
    });
  });

  describe('authorization', () => {
    it('is the token type (Bearer by default) and value', () => {
      expect(authorization({ value: 'abc' })).to.equal('Bearer abc');
      expect(authorization({ value: 'a.b-c', type: 'DPoP' })).to.equal('DPoP a.b-c');
    });

    it('refuses a value a header cannot carry, without showing it', () => {
      for (const value of ['secret\r\nX-Injected: 1', ' secret', 'secret\u00e9', 'secret\u0000']) {
        expect(() => authorization({ value })).to.throw(TypeError).with.property('message').that.does.not.include('secret');
      }
    });
  });

  describe('sentTokens', () => {
    it('builds the header once per token value and type, whatever object carries them', () => {
      const sentFor = sentTokens();
      const token = { value: 'abc' };
      const first = sentFor(token);
      expect(first).to.deep.equal({ token: { value: 'abc' }, header: 'Bearer abc' });
      expect(Object.isFrozen(first.token)).to.equal(true);
      expect(sentFor({ value: 'abc' })).to.equal(first);
      token.value = 'def';
      expect(sentFor(token).header).to.equal('Bearer def');
      expect(sentFor({ value: 'def', type: 'DPoP' }).header).to.equal('DPoP def');
    });
  });

  describe('tokenOfHeader', () => {
    it('reads back the type and value that authorization put in a header', () => {
      expect(tokenOfHeader(authorization({ value: 'a b=c' }))).to.deep.equal({ type: 'Bearer', value: 'a b=c' });
      expect(tokenOfHeader(authorization({ value: 'x', type: 'DPoP' }))).to.deep.equal({ type: 'DPoP', value: 'x' });
      for (const header of [null, undefined, '', 'Bearer', ' x']) expect(tokenOfHeader(header), String(header)).to.equal(undefined);
    });
  });
});
