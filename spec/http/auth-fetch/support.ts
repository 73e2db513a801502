import { Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createConnection } from 'node:net';
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

/** Starts a server that records each request (body included), then lets `respond` answer. */
export async function recording(
  respond: (req: Received, res: ServerResponse, raw: IncomingMessage) => void,
): Promise<RecordingServer> {
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
