import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REQUEST_ID } from './timeline.js';

/** A node:http server of the demo, on a port the OS picked on 127.0.0.1. */
export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Stops listening and drops every connection still open, so the process can exit. */
  close(): Promise<void>;
}

/** Handles one request; a throw becomes a 500. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * Starts `handler` on 127.0.0.1, port 0: the demo never needs a free port of its own.
 * Every demo server also answers `GET /health` with 204, which the load uses to open its
 * connections ahead of a burst.
 */
export async function serve(handler: Handler): Promise<RunningServer> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') return void res.writeHead(204).end();
    Promise.resolve()
      .then(() => handler(req, res))
      .catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers with a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Reads a small request body as text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The request's `x-request-id`, as headers to pass on to the next service: requests are
 * told apart across services by it (the demo's timeline finds retries with it).
 */
export function requestId(req: IncomingMessage): Record<string, string> {
  const id = req.headers[REQUEST_ID];
  return typeof id === 'string' ? { [REQUEST_ID]: id } : {};
}

/** Who a token request says it is, and the secret it proves it with. */
export interface ClientLogin {
  id: string;
  secret?: string;
}

/**
 * The client of a token request: HTTP Basic, whose id and secret are form-encoded first
 * (RFC 6749 2.3.1), or `client_id` and `client_secret` in the form body. `undefined` when
 * it names none.
 */
export function clientLogin(req: IncomingMessage, form: URLSearchParams): ClientLogin | undefined {
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (basic?.[1] !== undefined) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const formDecode = (text: string): string => decodeURIComponent(text.replace(/\+/g, ' '));
    try {
      return colon < 0 ? undefined : { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
    } catch {
      return undefined;
    }
  }
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  return id ? { id, ...(secret === null ? {} : { secret }) } : undefined;
}
