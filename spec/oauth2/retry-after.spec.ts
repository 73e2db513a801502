import { expect } from 'chai';
import fc from 'fast-check';
import { parseRetryAfter } from '../../lib/oauth2/retry-after.js';

describe('parseRetryAfter (RFC 9110 10.2.3)', () => {
  const now = Date.UTC(2026, 10, 29, 12, 0, 0);

  it('reads delta-seconds, including 0', () => {
    expect(parseRetryAfter('120', now)).to.equal(120_000);
    expect(parseRetryAfter(' 3 ', now)).to.equal(3_000);
    expect(parseRetryAfter('0', now)).to.equal(0);
  });

  it('reads an IMF-fixdate as the time left until it, on the given clock', () => {
    expect(parseRetryAfter('Sun, 29 Nov 2026 12:00:45 GMT', now)).to.equal(45_000);
  });

  it('gives undefined (normal backoff) for a missing, past or garbage value', () => {
    for (const value of [null, '', 'soon', '-5', '1.5', '1e3', 'Sun, 29 Nov 2026 11:59:59 GMT', 'Sun, 29 Nov 2026 12:00:00 GMT', '2026-11-29T12:01:00Z', '99999999999999999999']) {
      expect(parseRetryAfter(value, now), String(value)).to.equal(undefined);
    }
  });

  it('never returns a negative, fractional or non-finite delay, whatever the header says', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 0, max: 4_102_444_800_000 }), (value, at) => {
        const delay = parseRetryAfter(value, at);
        return delay === undefined || (Number.isSafeInteger(delay) && delay >= 0);
      }),
    );
  });
});
