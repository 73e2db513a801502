import { Agent as HttpAgent } from 'node:http';
import { expect } from 'chai';
import sinon from 'sinon';
import { Request as NodeFetchRequest } from 'node-fetch';
import { authFetch } from 'rx-token-stream';
import { authFetchHarness, reply, type Received, type RecordingServer } from './support.js';

// fetch copies its input when it is called, so a caller may reuse and change its URL, init,
// headers and body at once. authFetch must send what it was given, and only that: these
// specs change every input right after the call (while the token or a Request body is
// awaited) and again while the first attempt is on the wire (before a retry or a 307).

describe('authFetch sends its input as it was when called', () => {
  /** Runs once, when the api receives its first request of a spec: the caller's changes. */
  let onFirst: (() => void) | undefined;
  const harness = authFetchHarness({
    api: (req, res) => {
      const first = harness.api.received.length === 1;
      if (first) onFirst?.();
      const [path, query = ''] = req.url.split('?');
      const to = new URLSearchParams(query).get('to');
      if (path === '/go' && to !== null) res.writeHead(307, { location: to }).end();
      else reply(res, path === '/once' && first ? 401 : 200);
    },
  });
  beforeEach(() => {
    onFirst = undefined;
  });

  const seen = (server: RecordingServer, ...fields: (keyof Received['headers'] | 'method' | 'body' | 'path')[]): unknown[][] =>
    server.received.map((r) =>
      fields.map((field) => (field === 'method' || field === 'body' ? r[field] : field === 'path' ? r.url.split('?')[0] : r.headers[field])),
    );

  describe('a URL object', () => {
    it('changed while the token is awaited: the token goes to the URL of the call, never to the new host', async () => {
      const url = new URL(`${harness.api.origin}/data`);
      const pending = authFetch(harness.tokens, { origins: [harness.api.origin] })(url);
      url.port = String(harness.foreign.port);
      expect((await pending).status).to.equal(200);
      expect(seen(harness.api, 'path', 'authorization')).to.deep.equal([['/data', 'Bearer t1']]);
      expect(harness.foreign.received).to.deep.equal([]);
    });

    it('changed during the first attempt: the retry goes to the URL of the call', async () => {
      const url = new URL(`${harness.api.origin}/once`);
      onFirst = () => (url.port = String(harness.foreign.port));
      expect((await authFetch(harness.tokens, { origins: [harness.api.origin] })(url)).status).to.equal(200);
      expect(seen(harness.api, 'path', 'authorization')).to.deep.equal([
        ['/once', 'Bearer t1'],
        ['/once', 'Bearer t2'],
      ]);
      expect(harness.foreign.received).to.deep.equal([]);
    });
  });

  describe('an init', () => {
    for (const [shape, headers, change] of [
      ['a record', { 'x-trace': 'a' }, (h: unknown) => ((h as Record<string, string>)['x-trace'] = 'changed')],
      ['a Headers', new Headers({ 'x-trace': 'a' }), (h: unknown) => (h as Headers).set('x-trace', 'changed')],
      ['pairs', [['x-trace', 'a']], (h: unknown) => ((h as string[][])[0] = ['x-trace', 'changed'])],
    ] as const) {
      it(`with headers as ${shape}, changed after the call and during the first attempt: both attempts send the init of the call`, async () => {
        const init: Record<string, unknown> = { method: 'PUT', headers, body: 'x=1' };
        const changeAll = (): void => {
          change(headers);
          Object.assign(init, { method: 'DELETE', body: 'changed', headers: { 'x-trace': 'replaced' }, redirect: 'error' });
        };
        onFirst = changeAll;
        const pending = authFetch(harness.tokens, { origins: [harness.api.origin] })(`${harness.api.origin}/once`, init);
        changeAll();
        expect((await pending).status).to.equal(200);
        expect(seen(harness.api, 'method', 'body', 'x-trace', 'authorization')).to.deep.equal([
          ['PUT', 'x=1', 'a', 'Bearer t1'],
          ['PUT', 'x=1', 'a', 'Bearer t2'],
        ]);
      });
    }
  });

  describe('a Request', () => {
    for (const [name, RequestClass] of [
      ['node-fetch', NodeFetchRequest],
      ['global', Request],
    ] as const) {
      it(`(${name}) and its init, changed while its body is buffered: every field is read at call time`, async () => {
        const request = new RequestClass(`${harness.api.origin}/once`, { method: 'POST', body: 'x=1', headers: { 'x-trace': 'r' } });
        const init = { headers: { 'x-trace': 'i', authorization: 'Basic mine' }, redirect: 'follow' as const };
        const pending = authFetch(harness.tokens, { origins: [harness.api.origin] })(request as never, init);
        request.headers.set('x-trace', 'changed');
        init.headers['x-trace'] = 'changed';
        Object.assign(init, { headers: { 'x-trace': 'replaced' }, redirect: 'error' });
        expect((await pending).status).to.equal(200);
        expect(seen(harness.api, 'method', 'body', 'x-trace', 'authorization')).to.deep.equal([
          ['POST', 'x=1', 'i', 'Bearer t1'],
          ['POST', 'x=1', 'i', 'Bearer t2'],
        ]);
      });

      it(`(${name}) with headers changed while its body is buffered: its own headers of the call, and our Authorization`, async () => {
        const request = new RequestClass(`${harness.api.origin}/data`, { method: 'PUT', body: 'x=1', headers: { 'x-trace': 'r', authorization: 'Basic mine' } });
        const pending = authFetch(harness.tokens, { origins: [harness.api.origin] })(request as never);
        request.headers.set('x-trace', 'changed');
        expect((await pending).status).to.equal(200);
        expect(seen(harness.api, 'method', 'body', 'x-trace', 'authorization')).to.deep.equal([['PUT', 'x=1', 'r', 'Bearer t1']]);
      });
    }
  });

  it("(node-fetch Request) sends with the Request's own node-fetch options, its agent and compress", async () => {
    const agent = new HttpAgent({ keepAlive: false });
    const connect = sinon.spy(agent, 'createConnection');
    const request = new NodeFetchRequest(`${harness.api.origin}/data`, { agent, compress: false });
    expect((await authFetch(harness.tokens, { origins: [harness.api.origin] })(request)).status).to.equal(200);
    expect(connect.callCount).to.equal(1);
    expect(seen(harness.api, 'accept-encoding', 'authorization')).to.deep.equal([[undefined, 'Bearer t1']]);
    agent.destroy();
  });

  describe('a body', () => {
    /** A body as a caller makes it, the change the caller makes to it afterwards, and what must be sent. */
    interface Changing {
      body: unknown;
      change: () => void;
      sent: string;
    }
    // Each typed view reads "hi" from bytes that the change turns into "xx".
    const bodies: Record<string, () => Changing> = {
      Uint8Array: () => {
        const bytes = new Uint8Array([104, 105]);
        return { body: bytes, change: () => bytes.fill(120), sent: 'hi' };
      },
      'Uint16Array, sent by its bytes': () => {
        const bytes = new Uint8Array([104, 105]);
        return { body: new Uint16Array(bytes.buffer), change: () => bytes.fill(120), sent: 'hi' };
      },
      'a view into the middle of a larger buffer': () => {
        const bytes = new Uint8Array([95, 104, 105, 95]);
        return { body: bytes.subarray(1, 3), change: () => bytes.fill(120), sent: 'hi' };
      },
      DataView: () => {
        const bytes = new Uint8Array([104, 105]);
        return { body: new DataView(bytes.buffer), change: () => bytes.fill(120), sent: 'hi' };
      },
      ArrayBuffer: () => {
        const bytes = new Uint8Array([104, 105]);
        return { body: bytes.buffer, change: () => bytes.fill(120), sent: 'hi' };
      },
      'Buffer (from the shared pool)': () => {
        const buffer = Buffer.from('hi');
        return { body: buffer, change: () => buffer.fill('x'), sent: 'hi' };
      },
      URLSearchParams: () => {
        const params = new URLSearchParams({ u: '1' });
        return { body: params, change: () => params.set('u', 'x'), sent: 'u=1' };
      },
    };

    for (const [name, make] of Object.entries(bodies)) {
      it(`${name}, changed after the call and on the wire: the first attempt, the retry and a 307 send the body of the call`, async () => {
        const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
        for (const path of ['/once', `/go?to=${encodeURIComponent('/final')}`]) {
          harness.api.received.length = 0;
          const { body, change, sent } = make();
          onFirst = change;
          const pending = fetch(`${harness.api.origin}${path}`, { method: 'POST', body: body as string });
          change();
          expect((await pending).status).to.equal(200);
          expect(harness.api.received.map((r) => r.body), path).to.deep.equal([sent, sent]);
        }
      });
    }

    it('FormData, changed after the call and on the wire: both attempts send its fields of the call', async () => {
      const form = new FormData();
      form.append('f', 'kept');
      const change = (): void => {
        form.set('f', 'changed');
        form.append('g', 'added');
      };
      onFirst = change;
      const pending = authFetch(harness.tokens, { origins: [harness.api.origin] })(`${harness.api.origin}/once`, { method: 'POST', body: form as never });
      change();
      expect((await pending).status).to.equal(200);
      expect(harness.api.received).to.have.length(2);
      for (const { body } of harness.api.received) {
        expect(body).to.match(/name="f"\r\n\r\nkept\r\n/);
        expect(body).not.to.include('changed').and.not.to.include('added');
      }
    });
  });

  it('refuses a URL with credentials for an allowed origin, as fetch does, before asking for a token', async () => {
    const fetch = authFetch(harness.tokens, { origins: [harness.api.origin] });
    const withUser = harness.api.origin.replace('//', '//user:hunter2@');
    const error = await fetch(`${withUser}/data`).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TypeError).with.property('message').that.does.not.include('hunter2');
    expect(harness.source.callCount).to.equal(0);
    expect(harness.api.received).to.deep.equal([]);
  });
});
