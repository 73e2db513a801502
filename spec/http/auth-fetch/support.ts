import { Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createConnection } from 'node:net';
import sinon from 'sinon';
import { TokenStream, type Token } from 'rx-token-stream';
import { listen, type LoopbackServer } from '../../support/loopback.js';

/** What a recording server saw of one request. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A loopback server that records every request before `respond` answers it. */
export interface RecordingServer extends LoopbackServer {
  received: Received[];
}

/** How a recording server answers a request it has recorded. */
export type Respond = (req: Received, res: ServerResponse, raw: IncomingMessage) => void;

/** Starts a server that records each request (body included), then lets `respond` answer. */
export async function recording(respond: Respond): Promise<RecordingServer> {
  const received: Received[] = [];
  const server = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      received.push(entry);
      respond(entry, res, req);
    });
  });
  return Object.assign(server, { received });
}

/** What {@link authFetchHarness} hands each spec. */
export interface AuthFetchHarness {
  /** The origin the specs allow authFetch to send the token to. */
  readonly api: RecordingServer;
  /** Another origin, which must never receive the token. */
  readonly foreign: RecordingServer;
  /** This spec's stream over `source` (a new one per spec). */
  readonly tokens: TokenStream;
  /** This spec's source: it answers `t1`, `t2`, ... in the order of its calls. */
  readonly source: sinon.SinonStub<[], Promise<Token>>;
}

/**
 * Registers, in the calling `describe`, the hooks of a suite that sends through authFetch to
 * two recording servers: both listen before the suite and close after it; each spec starts
 * with a new stream and source, and with nothing received. `foreign` answers 200 unless told.
 */
export function authFetchHarness(respond: { api: Respond; foreign?: Respond }): AuthFetchHarness {
  let api: RecordingServer | undefined;
  let foreign: RecordingServer | undefined;
  let tokens: TokenStream | undefined;
  let source: sinon.SinonStub<[], Promise<Token>> | undefined;
  before(async () => {
    api = await recording(respond.api);
    foreign = await recording(respond.foreign ?? ((_req, res) => reply(res, 200)));
  });
  after(async () => {
    await api?.close();
    await foreign?.close();
  });
  beforeEach(() => {
    let n = 0;
    source = sinon.stub<[], Promise<Token>>().callsFake(async () => ({ value: `t${++n}` }));
    tokens = new TokenStream({ source });
    (api as RecordingServer).received.length = 0;
    (foreign as RecordingServer).received.length = 0;
  });
  afterEach(() => tokens?.close());
  return {
    get api() {
      return api as RecordingServer;
    },
    get foreign() {
      return foreign as RecordingServer;
    },
    get tokens() {
      return tokens as TokenStream;
    },
    get source() {
      return source as sinon.SinonStub<[], Promise<Token>>;
    },
  };
}

/** Answers with `status` and a small JSON body. */
export function reply(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ status }));
}

/**
 * An agent for node-fetch that connects every request to `server`, whatever host and port
 * its URL names, as a DNS entry pointing there would. Requests still carry their URL's Host,
 * so the server sees which host the client meant: this lets specs send to look-alike host
 * names over real HTTP without touching the network.
 */
export function routedTo(server: LoopbackServer): HttpAgent {
  const agent = new HttpAgent({ keepAlive: false });
  Object.assign(agent, { createConnection: () => createConnection({ host: '127.0.0.1', port: server.port }) });
  return agent;
}
