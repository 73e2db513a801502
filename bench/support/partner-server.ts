/**
 * A partner API and its auth server, run in a process of its own (see partner.ts) so that
 * the bench measures the client's CPU and heap, not the server's.
 *
 * - `POST /token` issues a new token, and from then on the API accepts only that one.
 * - `GET /api` answers 200 to the current token and 401 (`invalid_token`) to any other.
 *   Each request may carry `x-request-id`; the server counts the attempts of each id.
 * - `POST /control/<action>` configures, revokes, resets and reports, for the bench.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the bench can configure. */
export interface PartnerConfig {
  /** How long the auth server takes to answer, in ms. */
  authDelayMs: number;
  /** The lifetime of an issued token, in ms. */
  tokenTtlMs: number;
  /** Revoke the current token after this many accepted requests (0: never). */
  rotateEvery: number;
}

/** What the server saw since the last reset. */
export interface PartnerStats {
  authCalls: number;
  requests: number;
  ok: number;
  rejected: number;
  /** The most attempts made under one `x-request-id`. */
  maxAttempts: number;
  /** How many distinct `x-request-id`s were seen. */
  requestIds: number;
  /** TCP connections accepted (keep-alive reuse shows as few). */
  connections: number;
}

const config: PartnerConfig = { authDelayMs: 0, tokenTtlMs: 3_600_000, rotateEvery: 0 };
let issued = 0;
let current: string | undefined;
let acceptedSinceIssue = 0;
let stats: PartnerStats = { authCalls: 0, requests: 0, ok: 0, rejected: 0, maxAttempts: 0, requestIds: 0, connections: 0 };
let attempts = new Map<string, number>();

function reset(): void {
  stats = { authCalls: 0, requests: 0, ok: 0, rejected: 0, maxAttempts: 0, requestIds: 0, connections: 0 };
  attempts = new Map();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function issue(res: ServerResponse): void {
  stats.authCalls += 1;
  issued += 1;
  const token = `token-${process.pid}-${issued}`;
  const answer = (): void => {
    current = token;
    acceptedSinceIssue = 0;
    json(res, 200, { access_token: token, token_type: 'Bearer', expires_in_ms: config.tokenTtlMs });
  };
  if (config.authDelayMs > 0) setTimeout(answer, config.authDelayMs);
  else answer();
}

function api(req: IncomingMessage, res: ServerResponse): void {
  stats.requests += 1;
  const id = req.headers['x-request-id'];
  if (typeof id === 'string') {
    const count = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, count);
    if (count === 1) stats.requestIds += 1;
    if (count > stats.maxAttempts) stats.maxAttempts = count;
  }
  if (current === undefined || req.headers.authorization !== `Bearer ${current}`) {
    stats.rejected += 1;
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-length': 0 });
    res.end();
    return;
  }
  stats.ok += 1;
  acceptedSinceIssue += 1;
  if (config.rotateEvery > 0 && acceptedSinceIssue >= config.rotateEvery) current = undefined;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
  res.end('ok');
}

function control(action: string, body: string, res: ServerResponse): void {
  if (action === 'config') Object.assign(config, JSON.parse(body || '{}') as Partial<PartnerConfig>);
  else if (action === 'revoke') current = undefined;
  else if (action === 'reset') reset();
  else if (action !== 'stats') return json(res, 404, { error: 'unknown action' });
  json(res, 200, stats);
}

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/api') return api(req, res);
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (url === '/token' && req.method === 'POST') issue(res);
    else if (url.startsWith('/control/')) control(url.slice('/control/'.length), Buffer.concat(chunks).toString(), res);
    else json(res, 404, { error: 'not found' });
  });
});
server.on('connection', () => (stats.connections += 1));
// Thousands of parallel requests arrive at once in the storm.
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => {
  server.closeAllConnections();
  server.close();
});
