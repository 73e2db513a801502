import { expect } from 'chai';
import { NO_INIT, outgoing } from '../lib/outgoing.js';

const url = new URL('https://api.example.com/a');

describe('outgoing', () => {
  it('reads headers from a record, Headers or pairs into lowercase names, joined as Headers joins them', () => {
    const shapes: unknown[] = [
      { 'X-Trace': ' a\t', 'x-trace': 'b', Accept: 'text/plain' },
      new Headers([['x-trace', 'a'], ['X-Trace', 'b'], ['accept', 'text/plain']]),
      [['x-trace', 'a'], ['x-trace', 'b'], ['ACCEPT', 'text/plain']],
    ];
    for (const headers of shapes) {
      expect({ ...outgoing(undefined, url, { headers }).first.headers }).to.deep.equal({ 'x-trace': 'a, b', accept: 'text/plain' });
    }
  });

  it('keeps a header named __proto__ as a header', () => {
    const headers = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    const record = outgoing(undefined, url, { headers }).first.headers;
    expect(Object.entries(record)).to.deep.equal([['__proto__', 'x']]);
    expect(Object.getPrototypeOf({})).to.equal(Object.prototype);
  });

  it('passes on the rest of the init, and nothing when there is none', () => {
    expect(outgoing(undefined, url, NO_INIT).extra).to.equal(undefined);
    expect(outgoing(undefined, url, { method: 'post', headers: {} }).extra).to.equal(undefined);
    expect(outgoing(undefined, url, { compress: false, method: 'post' })).to.deep.include({ extra: { compress: false } });
    expect(outgoing(undefined, url, { method: 'post' }).first.method).to.equal('POST');
  });

  it('refuses a redirect mode fetch does not have', () => {
    expect(() => outgoing(undefined, url, { redirect: 'sometimes' })).to.throw(TypeError, /`redirect`/);
  });
});
