import { expect } from 'chai';
import { isExpired } from 'rx-token-stream';
import { checkToken, refreshDueAt } from '../lib/token.js';

describe('token', () => {
  describe('isExpired', () => {
    it('counts a token as expired from its expiresAt on', () => {
      const token = { value: 'x', expiresAt: 1_000 };
      expect([999, 1_000, 1_001].map((now) => isExpired(token, now))).to.deep.equal([false, true, true]);
    });
    it('never expires a token without expiresAt', () => {
      expect(isExpired({ value: 'x' }, Number.MAX_SAFE_INTEGER)).to.equal(false);
    });
  });

  describe('refreshDueAt', () => {
    it('is windowMs before expiry when that is less than half the lifetime', () => {
      expect(refreshDueAt({ value: 'x', expiresAt: 3_600_000 }, 0, 60_000)).to.equal(3_540_000);
    });
    it('is half-way through the lifetime, measured from arrival, when the window is longer', () => {
      expect(refreshDueAt({ value: 'x', expiresAt: 1_100 }, 1_000, 60_000)).to.equal(1_050);
    });
    it('is Infinity without expiresAt, and the expiry itself for a token that arrived late', () => {
      expect(refreshDueAt({ value: 'x' }, 0, 60_000)).to.equal(Number.POSITIVE_INFINITY);
      expect(refreshDueAt({ value: 'x', expiresAt: 100 }, 200, 60_000)).to.equal(100);
    });
  });

  describe('checkToken', () => {
    const bad: Array<[unknown, RegExp]> = [
      [null, /object/],
      ['secret-value', /object/],
      [{ value: '' }, /`value`/],
      [{ value: 42 }, /`value`/],
      [{ value: 'secret-value', expiresAt: 'tomorrow' }, /`expiresAt`/],
      [{ value: 'secret-value', expiresAt: Number.POSITIVE_INFINITY }, /`expiresAt`/],
      [{ value: 'secret-value', expiresAt: 10 }, /already expired/],
      [{ value: 'secret-value', type: 'Bearer token' }, /`type`/],
      [{ value: 'secret-value\r\nX-Injected: 1' }, /header cannot carry/],
      [{ value: 'secret-välue' }, /header cannot carry/],
      [{ value: ' secret-value' }, /header cannot carry/],
    ];
    for (const [token, message] of bad) {
      it(`rejects ${JSON.stringify(token)} without repeating the value`, () => {
        expect(() => checkToken(token, 10)).to.throw(TypeError, message);
        try {
          checkToken(token, 10);
        } catch (error) {
          expect((error as Error).message).to.not.include('secret-value');
        }
      });
    }
    it('accepts a value with an optional future expiresAt and an auth scheme type', () => {
      expect(() => checkToken({ value: 'v' }, 10)).to.not.throw();
      expect(() => checkToken({ value: 'v', expiresAt: 11, type: 'DPoP' }, 10)).to.not.throw();
    });
    it('returns a frozen copy of the token fields only, which later changes to the input do not reach', () => {
      const input = { value: 'v', expiresAt: 11, type: 'DPoP', refreshToken: 'r' };
      const held = checkToken(input, 10);
      input.value = 'changed';
      expect(held).to.deep.equal({ value: 'v', expiresAt: 11, type: 'DPoP' });
      expect(Object.isFrozen(held)).to.equal(true);
    });
    it('marks a bad token as final: a retry cannot mend it', () => {
      expect(() => checkToken({ value: '' }, 10)).to.throw(TypeError).with.property('retryable', false);
    });
  });
});
