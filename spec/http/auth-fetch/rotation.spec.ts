import { once } from 'node:events';
import { Readable } from 'node:stream';
import { Agent as HttpAgent, type ServerResponse } from 'node:http';
import { expect } from 'chai';
import nodeFetch from 'node-fetch';
import { TokenStream, authFetch, type Token } from 'rx-token-stream';
import { listen, type LoopbackServer } from '../../support/loopback.js';

/**
 * A partner API that accepts only the newest token it issued. `POST /token` issues one;
 * `rotate()` revokes it, as a partner rotating its keys would.
 */
interface PartnerApi extends LoopbackServer {
  tokenCalls: number;
  /** How many times each request id was received. */
  sent: Map<string, number>;
  rotate(): void;
}

async function partnerApi(): Promise<PartnerApi> {
  let issued = 0;
  let accepted: string | undefined;
  const state = { tokenCalls: 0, sent: new Map<string, number>(), rotate: () => (accepted = undefined) };
  const server = await listen((req, res) => {
    const url = new URL(req.url ?? '/', 'http://partner');
    if (url.pathname === '/token') {
      state.tokenCalls += 1;
      accepted = `partner-token-${++issued}`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: accepted }));
      return;
    }
    const id = url.searchParams.get('id') ?? '';
    state.sent.set(id, (state.sent.get(id) ?? 0) + 1);
    req.resume();
    if (accepted !== undefined && req.headers.authorization === `Bearer ${accepted}`) answer(res, 200);
    else answer(res, 401, { 'www-authenticate': 'Bearer error="invalid_token"' });
  });
  return Object.assign(state, server);
}

function answer(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ status }));
}

/** A source that asks the partner for a token over HTTP, as a real integration would. */
function partnerSource(partner: PartnerApi) {
  return async ({ signal }: { signal: AbortSignal }): Promise<Token> => {
    const res = await nodeFetch(`${partner.origin}/token`, { method: 'POST', signal });
    const { access_token } = (await res.json()) as { access_token: string };
    return { value: access_token };
  };
}

const statuses = (responses: { status: number }[]): Record<number, number> =>
  responses.reduce<Record<number, number>>((count, { status }) => ({ ...count, [status]: (count[status] ?? 0) + 1 }), {});

describe('authFetch against a partner API that accepts only its newest token', () => {
  let partner: PartnerApi;
  beforeEach(async () => (partner = await partnerApi()));
  afterEach(() => partner.close());

  // node-fetch (the default) over a pool of 64 keep-alive sockets, as a service would run
  // it; the global fetch, with its own pool, at a smaller scale to keep the suite fast.
  for (const [name, impl, parallel] of [
    ['node-fetch', undefined, 1_000],
    ['global fetch', globalThis.fetch, 200],
  ] as const) {
    it(`serves ${parallel.toLocaleString("en")} parallel calls with 1 token call, then ${parallel.toLocaleString("en")} more after a rotation with exactly 1 more (${name})`, async () => {
      const tokens = new TokenStream({ source: partnerSource(partner) });
      const agent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
      const fetch = (
        impl === undefined ? authFetch(tokens, { origins: [partner.origin] }) : authFetch(tokens, { origins: [partner.origin], fetch: impl })
      ) as typeof nodeFetch;
      const burst = (round: string): Promise<{ status: number }[]> =>
        Promise.all(
          Array.from({ length: parallel }, async (_, i) => {
            const res = await fetch(`${partner.origin}/data?id=${round}-${i}`, impl === undefined ? { agent } : {});
            await res.arrayBuffer();
            return res;
          }),
        );

      expect(statuses(await burst('a'))).to.deep.equal({ 200: parallel });
      expect(partner.tokenCalls).to.equal(1);
      expect(Math.max(...partner.sent.values())).to.equal(1);

      partner.rotate();
      expect(statuses(await burst('b'))).to.deep.equal({ 200: parallel });
      expect(partner.tokenCalls).to.equal(2);
      const resent = [...partner.sent].filter(([id]) => id.startsWith('b-')).map(([, count]) => count);
      expect(resent).to.have.length(parallel);
      expect(Math.max(...resent)).to.equal(2);
      tokens.close();
      agent.destroy();
    });
  }

  it('gives an always-401 server at most 2 attempts per request and the caller its 401, with bounded token calls', async () => {
    const denied = await listen((req, res) => {
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
      partner.sent.set(id, (partner.sent.get(id) ?? 0) + 1);
      req.resume();
      answer(res, 401);
    });
    let sourceCalls = 0;
    const tokens = new TokenStream({ source: async () => ({ value: `t${++sourceCalls}` }) });
    const fetch = authFetch(tokens, { origins: [denied.origin] });
    const parallel = await Promise.all(Array.from({ length: 200 }, (_, i) => fetch(`${denied.origin}/?id=p${i}`)));
    expect(statuses(parallel)).to.deep.equal({ 401: 200 });
    expect([...partner.sent.values()].every((count) => count === 2)).to.equal(true);
    // The first token and the one refresh its rejection caused; the second 401s refresh nothing.
    expect(sourceCalls).to.equal(2);
    for (let i = 0; i < 3; i += 1) expect((await fetch(`${denied.origin}/?id=s${i}`)).status).to.equal(401);
    expect(partner.sent.get('s2')).to.equal(2);
    expect(sourceCalls).to.equal(5);
    tokens.close();
    await denied.close();
  });

  it('does not retry a streamed body that gets a 401, and still invalidates the token it sent', async () => {
    const tokens = new TokenStream({ source: partnerSource(partner) });
    const fetch = authFetch(tokens, { origins: [partner.origin] });
    await tokens.getToken();
    partner.rotate();
    const res = await fetch(`${partner.origin}/data?id=stream`, { method: 'POST', body: Readable.from(['a', 'b']) });
    expect(res.status).to.equal(401);
    expect(partner.sent.get('stream')).to.equal(1);
    expect((await fetch(`${partner.origin}/data?id=after`, { method: 'POST', body: 'ab' })).status).to.equal(200);
    expect(partner.sent.get('after')).to.equal(1);
    expect(partner.tokenCalls).to.equal(2);
    tokens.close();
  });

  it('retries string, Buffer, typed array and URLSearchParams bodies with the same bytes and the next token', async () => {
    const seen = new Map<string, string[]>();
    const server = await listen((req, res) => {
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const attempts = [...(seen.get(id) ?? []), `${req.headers.authorization} ${Buffer.concat(chunks).toString()}`];
        seen.set(id, attempts);
        answer(res, attempts.length === 1 ? 401 : 200);
      });
    });
    let n = 0;
    const tokens = new TokenStream({ source: async () => ({ value: `t${++n}` }) });
    const fetch = authFetch(tokens, { origins: [server.origin] });
    const bodies = { s: 's=1', b: Buffer.from('b=2'), a: new Uint8Array([104, 105]), u: new URLSearchParams({ u: '3' }) };
    for (const [id, body] of Object.entries(bodies)) {
      expect((await fetch(`${server.origin}/?id=${id}`, { method: 'POST', body: body as Buffer })).status).to.equal(200);
    }
    expect(Object.fromEntries(seen)).to.deep.equal({
      s: ['Bearer t1 s=1', 'Bearer t2 s=1'],
      b: ['Bearer t2 b=2', 'Bearer t3 b=2'],
      a: ['Bearer t3 hi', 'Bearer t4 hi'],
      u: ['Bearer t4 u=3', 'Bearer t5 u=3'],
    });
    tokens.close();
    await server.close();
  });

  it('cancels the body of the 401 it retries, so that response does not hold its socket', async () => {
    let first = true;
    let closed: Promise<unknown> | undefined;
    const server = await listen((req, res) => {
      req.resume();
      if (first) {
        first = false;
        closed = once(res, 'close');
        // Far more than socket buffers hold: unless the client reads or cancels it, the
        // server can never finish writing it, and 'close' never comes.
        res.writeHead(401).end(Buffer.alloc(16 * 1024 * 1024));
      } else answer(res, 200);
    });
    let n = 0;
    const tokens = new TokenStream({ source: async () => ({ value: `t${++n}` }) });
    const fetch = authFetch(tokens, { origins: [server.origin] });
    const res = await fetch(`${server.origin}/`);
    expect(res.status).to.equal(200);
    await closed;
    tokens.close();
    await server.close();
  });
});
