import { expect } from 'chai';
import { TokenStream } from 'rx-token-stream';

describe('smoke', () => {
  it('coalesces 10,000 concurrent getToken() calls into one source call', async () => {
    let calls = 0;
    const tokens = new TokenStream({ source: async () => ({ value: `t${++calls}` }) });
    const all = await Promise.all(Array.from({ length: 10_000 }, () => tokens.getToken()));
    expect(calls).to.equal(1);
    expect(new Set(all.map((t) => t.value))).to.deep.equal(new Set(['t1']));
  });
});
