import { expect } from 'chai';
import { asyncScheduler } from 'rxjs';
import { TokenStream, type TokenStreamOptions } from 'rx-token-stream';
import { MAX_TIMER_MS } from '../lib/options.js';
import { backoffDelay, isRetryable, retryAfterOf } from '../lib/retry.js';

const source = (): Promise<{ value: string }> => Promise.resolve({ value: 'x' });

describe('options (14)', () => {
  const invalid: Array<[string, unknown]> = [
    ['options', null],
    ['source', {}],
    ['source', { source: 'https://auth.example/token' }],
    ['refreshWindowMs', { source, refreshWindowMs: -1 }],
    ['refreshWindowMs', { source, refreshWindowMs: Number.NaN }],
    ['refreshWindowMs', { source, refreshWindowMs: '60000' }],
    ['timeoutMs', { source, timeoutMs: 0 }],
    ['timeoutMs', { source, timeoutMs: Number.POSITIVE_INFINITY }],
    ['timeoutMs', { source, timeoutMs: MAX_TIMER_MS + 1 }],
    ['scheduler', { source, scheduler: { now: () => 0 } }],
    ['retry', { source, retry: 2 }],
    ['retry.count', { source, retry: { count: -1 } }],
    ['retry.count', { source, retry: { count: 1.5 } }],
    ['retry.delayMs', { source, retry: { delayMs: -5 } }],
    ['retry.delayMs', { source, retry: { delayMs: Number.POSITIVE_INFINITY } }],
    ['retry.maxDelayMs', { source, retry: { maxDelayMs: MAX_TIMER_MS + 1 } }],
    ['retry.jitter', { source, retry: { jitter: 1.5 } }],
    ['retry.jitter', { source, retry: { jitter: Number.NaN } }],
  ];
  for (const [name, options] of invalid) {
    it(`throws a TypeError naming \`${name}\` for ${JSON.stringify(options) ?? String(options)}`, () => {
      expect(() => new TokenStream(options as TokenStreamOptions)).to.throw(TypeError, `\`${name}\``);
    });
  }

  it('accepts the edges of every range', () => {
    const tokens = new TokenStream({
      source,
      refreshWindowMs: 0,
      timeoutMs: MAX_TIMER_MS,
      retry: { count: 0, delayMs: 0, maxDelayMs: MAX_TIMER_MS, jitter: 1 },
      scheduler: asyncScheduler,
    });
    tokens.close();
  });

  describe('backoffDelay', () => {
    const retry = { count: 5, delayMs: 100, maxDelayMs: 1_000, jitter: 0 };
    it('doubles from delayMs and stops at maxDelayMs', () => {
      expect([1, 2, 3, 4, 5].map((n) => backoffDelay(retry, n))).to.deep.equal([100, 200, 400, 800, 1_000]);
    });
    it('takes up to jitter times the delay off, by the random draw', () => {
      const jittered = { ...retry, jitter: 0.5 };
      expect([0, 0.5, 1].map((r) => backoffDelay(jittered, 2, () => r))).to.deep.equal([200, 150, 100]);
    });
  });

  describe('isRetryable and retryAfterOf', () => {
    it('treats only retryable === false as final', () => {
      expect(isRetryable(Object.assign(new Error('x'), { retryable: false }))).to.equal(false);
      expect([new Error('x'), { retryable: true }, { retryable: 0 }, null, 'text'].map(isRetryable)).to.deep.equal([true, true, true, true, true]);
    });
    it('reads a finite, non-negative retryAfterMs, capped at the longest timer', () => {
      expect([{ retryAfterMs: 1500 }, { retryAfterMs: 0 }, { retryAfterMs: 1e12 }].map(retryAfterOf)).to.deep.equal([1500, 0, MAX_TIMER_MS]);
      expect([{ retryAfterMs: -1 }, { retryAfterMs: Number.NaN }, { retryAfterMs: '5' }, {}, null].map(retryAfterOf)).to.deep.equal([
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
    });
  });
});
