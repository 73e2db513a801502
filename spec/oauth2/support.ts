import { expect } from 'chai';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { VirtualTimeScheduler } from 'rxjs';
import { listen, type LoopbackServer } from '../support/loopback.js';

export const CLIENT_ID = 'svc-reports';
// Distinctive strings: a spec fails if any of them turns up in an error's text.
export const CLIENT_SECRET = 'sEcReT-9f3a/+:=';
export const LEAKY_TOKEN = 'AT-must-never-leak-7c1d';

// RFC 6749 2.3.1: form-encoded before Basic, which escapes - _ . ! ~ * ' ( ) too.
const rfc6749Encode = (text: string): string =>
  encodeURIComponent(text)
    .replace(/[-_.!~*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/**
 * The client secret in every form a request carries it: as it is, percent-encoded in a form
 * body (URLSearchParams, encodeURIComponent, RFC 6749 2.3.1), and as Basic credentials.
 */
export const SECRET_FORMS: readonly string[] = [
  CLIENT_SECRET,
  encodeURIComponent(CLIENT_SECRET),
  new URLSearchParams({ s: CLIENT_SECRET }).toString().slice(2),
  rfc6749Encode(CLIENT_SECRET),
  base64(CLIENT_SECRET),
  base64(`${rfc6749Encode(CLIENT_ID)}:${rfc6749Encode(CLIENT_SECRET)}`),
  base64(`${CLIENT_ID}:${CLIENT_SECRET}`),
];

/**
 * Asserts that no secret, in any of its forms, shows in the error's message, util.inspect
 * (hidden fields and every nested cause too) or JSON.
 */
export function expectNoSecrets(error: unknown, secrets: readonly string[] = [...SECRET_FORMS, LEAKY_TOKEN]): void {
  const views = [
    error instanceof Error ? error.message : String(error),
    inspect(error, { depth: Infinity, showHidden: true }),
    JSON.stringify(error) ?? '',
  ];
  for (const secret of secrets) {
    for (const view of views) expect(view).not.to.include(secret);
  }
}

/** A clock the spec moves by hand; the stream and the source both read it. */
export function virtualClock(start = 0): { scheduler: VirtualTimeScheduler; advanceTo: (time: number) => void } {
  const scheduler = new VirtualTimeScheduler();
  scheduler.frame = start;
  return {
    scheduler,
    // Runs every action due up to `time`, including those scheduled while running.
    advanceTo(time: number) {
      scheduler.maxFrames = time;
      scheduler.flush();
      scheduler.frame = time;
    },
  };
}

/** What a loopback token endpoint received. */
export interface Received {
  headers: IncomingMessage['headers'];
  body: URLSearchParams;
}

/**
 * A token endpoint on 127.0.0.1 whose answers the spec scripts: `reply` gets each request
 * (in order, from 0) and answers it. Every request is recorded in `received`.
 */
export async function tokenEndpoint(
  reply: (res: ServerResponse, index: number, req: Received) => void,
): Promise<LoopbackServer & { received: Received[]; tokenUrl: string }> {
  const received: Received[] = [];
  const server = await listen((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const request = { headers: req.headers, body: new URLSearchParams(text) };
      received.push(request);
      reply(res, received.length - 1, request);
    });
  });
  return Object.assign(server, { received, tokenUrl: `${server.origin}/oauth/token` });
}

/** Answers `status` with `body`: a string is sent as it is, anything else as JSON. */
export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(raw);
}
