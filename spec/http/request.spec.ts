import { expect } from 'chai';
import { Readable } from 'node:stream';
import { NO_INIT, copyBody, fromRequest, isReplayable, prepareRequest } from '../../lib/http/request.js';

const url = new URL('https://api.example.com/a');

describe('prepareRequest', () => {
  it('reads headers from a record, Headers or pairs into lowercase names, joined as Headers joins them', () => {
    const shapes: unknown[] = [
      { 'X-Trace': ' a\t', 'x-trace': 'b', Accept: 'text/plain' },
      new Headers([['x-trace', 'a'], ['X-Trace', 'b'], ['accept', 'text/plain']]),
      [['x-trace', 'a'], ['x-trace', 'b'], ['ACCEPT', 'text/plain']],
    ];
    for (const headers of shapes) {
      expect({ ...prepareRequest(undefined, url, { headers }).first.headers }).to.deep.equal({ 'x-trace': 'a, b', accept: 'text/plain' });
    }
  });

  it('keeps a header named __proto__ as a header', () => {
    const headers = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    const record = prepareRequest(undefined, url, { headers }).first.headers;
    expect(Object.entries(record)).to.deep.equal([['__proto__', 'x']]);
    expect(Object.getPrototypeOf({})).to.equal(Object.prototype);
  });

  it('passes on the rest of the init, and nothing when there is none', () => {
    expect(prepareRequest(undefined, url, NO_INIT).extra).to.equal(undefined);
    expect(prepareRequest(undefined, url, { method: 'post', headers: {} }).extra).to.equal(undefined);
    expect(prepareRequest(undefined, url, { compress: false, method: 'post' })).to.deep.include({ extra: { compress: false } });
    expect(prepareRequest(undefined, url, { method: 'post' }).first.method).to.equal('POST');
  });

  it('buffers the body of a Request input, and reads nothing from one without a body', async () => {
    const posted = await fromRequest(new Request(url, { method: 'POST', body: 'x=1' }), url, NO_INIT);
    expect([posted.first.method, String(posted.first.body), posted.replayable]).to.deep.equal(['POST', 'x=1', true]);
    const got = await fromRequest(new Request(url, { headers: { 'X-Trace': 'r' } }), url, NO_INIT);
    expect([got.first.method, got.first.body, { ...got.first.headers }]).to.deep.equal(['GET', undefined, { 'x-trace': 'r' }]);
  });

  it("uses a Request's body when the init's is null, as fetch does", async () => {
    const posted = await fromRequest(new Request(url, { method: 'POST', body: 'x=1' }), url, { body: null });
    expect(String(posted.first.body)).to.equal('x=1');
  });

  it('keeps a copy of every body the caller could change, and the caller’s object for none', () => {
    const file = new File(['f'], 'report.txt', { type: 'text/plain' });
    const form = new FormData();
    form.append('a', '1');
    form.append('file', file);
    const bodies = [new Uint8Array([1, 2]), new Uint16Array([1]), new DataView(new ArrayBuffer(2)), new ArrayBuffer(2), Buffer.from('b'), new URLSearchParams({ u: '1' }), form];
    for (const body of bodies) {
      const { first, replayable } = prepareRequest(undefined, url, { method: 'POST', body });
      expect(first.body, String(body)).not.to.equal(body);
      expect(replayable).to.equal(true);
    }
    const copy = prepareRequest(undefined, url, { method: 'POST', body: form }).first.body as FormData;
    expect([...copy.keys()]).to.deep.equal(['a', 'file']);
    expect((copy.get('file') as File).name).to.equal('report.txt');
  });

  it('refuses a `follow` that is not a whole number of redirects, naming it', () => {
    for (const follow of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3', null]) {
      expect(() => prepareRequest(undefined, url, { follow }), String(follow)).to.throw(TypeError, /`follow`/);
    }
    expect(prepareRequest(undefined, url, { follow: 0 }).follow).to.equal(0);
  });

  it('refuses a redirect mode fetch does not have', () => {
    expect(() => prepareRequest(undefined, url, { redirect: 'sometimes' })).to.throw(TypeError, /`redirect`/);
  });

  it('counts every body but a stream or an iterable as one that can be sent again', () => {
    const again = [undefined, null, 'a', Buffer.from('a'), new Uint16Array(2), new ArrayBuffer(2), new URLSearchParams('a=1'), new FormData(), new Blob(['a'])];
    for (const body of again) expect(isReplayable(body), String(body)).to.equal(true);
    const once = [Readable.from(['a']), new ReadableStream(), (async function* () {})(), [1, 2]];
    for (const body of once) expect(isReplayable(body), String(body)).to.equal(false);
  });

  it('copies a byte body, so that a later change of the caller\'s bytes is not sent', () => {
    const bytes = Buffer.from('abc');
    const copy = copyBody(bytes) as Buffer;
    bytes[0] = 0x7a;
    expect(copy.toString()).to.equal('abc');
    expect(copyBody(null)).to.equal(undefined);
  });
});
