import { expect } from 'chai';
import { MAX_STORED_BYTES, parseStored, storedForm } from '../../lib/redis/stored-token.js';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;

describe('the stored form of a shared token', () => {
  describe('storedForm', () => {
    it('keeps value, expiresAt and type, adds when it was stored, and lives as long as the token', () => {
      const token = { value: 'v', expiresAt: NOW + HOUR, type: 'DPoP', refreshToken: 'secret' };
      const stored = storedForm(token, NOW);
      expect(JSON.parse(stored?.json as string)).to.deep.equal({ value: 'v', expiresAt: NOW + HOUR, issuedAt: NOW, type: 'DPoP' });
      expect(stored?.ttlMs).to.equal(HOUR);
      expect(storedForm({ value: 'forever' }, NOW)).to.deep.equal({ json: '{"value":"forever"}', ttlMs: undefined });
    });

    const refused: [string, unknown][] = [
      ['a type that is no auth scheme', { value: 'v', type: 'Bearer x' }],
      ['CR LF in the value', { value: 'v\r\nX: 1' }],
      ['an expired token', { value: 'v', expiresAt: NOW }],
      ['expiresAt as a string', { value: 'v', expiresAt: String(NOW + HOUR) }],
      ['a value too large to share', { value: 'v'.repeat(MAX_STORED_BYTES) }],
    ];
    for (const [what, token] of refused) {
      it(`writes nothing the stream would refuse, or too large to read back: ${what}`, () => {
        expect(storedForm(token as never, NOW)).to.equal(undefined);
      });
    }
  });

  describe('parseStored and its expiry margin', () => {
    const stored = (lifetime: number, left: number, extra: Record<string, unknown> = {}): string =>
      JSON.stringify({ value: 'v', expiresAt: NOW + left, issuedAt: NOW + left - lifetime, ...extra });

    const margins: [string, number, number][] = [
      ['an hour-long token, at most 5 s', HOUR, 5_000],
      ['a 10 s token, a tenth of its lifetime', 10_000, 1_000],
      ['a 200 ms token, a tenth of its lifetime', 200, 20],
      ['a 50 ms token, at least 10 ms', 50, 10],
      ['a 10 ms token, at most half its lifetime', 10, 5],
    ];
    for (const [what, lifetime, margin] of margins) {
      it(`stops serving ${what} before its expiry`, () => {
        const raw = stored(lifetime, lifetime / 2 + 1);
        expect(parseStored(raw, NOW)?.servedUntil).to.equal(NOW + lifetime / 2 + 1 - margin);
      });
    }

    // issuedAt as it appears in the stored JSON.
    const untrusted: [string, string | undefined][] = [
      ['missing', undefined],
      ['a string', `"${NOW}"`],
      ['null', 'null'],
      ['infinite', '1e999'],
      ['at expiry', String(NOW + 60_000)],
      ['after expiry', String(NOW + HOUR)],
    ];
    for (const [what, issuedAt] of untrusted) {
      it(`takes the largest margin when issuedAt is ${what}`, () => {
        const raw = `{"value":"v","expiresAt":${NOW + 60_000}${issuedAt === undefined ? '' : `,"issuedAt":${issuedAt}`}}`;
        expect(parseStored(raw, NOW)?.servedUntil).to.equal(NOW + 60_000 - 5_000);
      });
    }

    it('serves a token without expiry for good', () => {
      expect(parseStored('{"value":"v"}', NOW)).to.deep.equal({ token: { value: 'v' }, servedUntil: Infinity });
    });

    it('hands over a frozen copy of the token fields only', () => {
      const parsed = parseStored(stored(HOUR, HOUR / 2, { type: 'Bearer', note: 'x' }), NOW);
      expect(parsed?.token).to.deep.equal({ value: 'v', expiresAt: NOW + HOUR / 2, type: 'Bearer' });
      expect(Object.isFrozen(parsed?.token)).to.equal(true);
    });

    it('reads an expired token, or one larger than it would write, as absent', () => {
      expect(parseStored(stored(HOUR, 0), NOW)).to.equal(undefined);
      expect(parseStored(JSON.stringify({ value: 'v'.repeat(MAX_STORED_BYTES) }), NOW)).to.equal(undefined);
    });
  });
});
