// A real HTTP token endpoint for the Redis specs: it counts the auth calls it receives,
// and can hold them open so that a spec decides when (and whether) each one is answered.
import type { ServerResponse } from 'node:http';
import type { Token, TokenSource } from 'rx-token-stream';
import { listen, type LoopbackServer } from '../support/loopback.js';

/** An auth call the server is holding open. */
export interface HeldCall {
  /** The `x-process` header of the caller (its PID in the child processes). */
  process: string | undefined;
  /** Answers it with `token` (by default the next `tok-<n>`). */
  respond(token?: Token): void;
  /** Resolves when the caller went away without an answer (aborted, killed). */
  gone: Promise<void>;
}

/** See {@link startTokenServer}. */
export interface TokenServer {
  url: string;
  /** How many auth calls arrived. */
  readonly calls: number;
  /** How many auth calls arrived for each key (the `x-key` header), for keyed sources. */
  readonly callsByKey: ReadonlyMap<string, number>;
  /** When true, calls are held until `respond()`d; when false they are answered at once. */
  hold: boolean;
  /** The next held call (one already waiting, or the next to arrive). */
  nextHeld(): Promise<HeldCall>;
  close(): Promise<void>;
}

/**
 * Starts a token server on 127.0.0.1 that hands out `tok-1`, `tok-2`… valid for `ttlMs`;
 * `tok-<n>-<key>` to a call that names a key in `x-key`.
 */
export async function startTokenServer(ttlMs = 60_000): Promise<TokenServer> {
  let calls = 0;
  const callsByKey = new Map<string, number>();
  const held: HeldCall[] = [];
  const takers: ((call: HeldCall) => void)[] = [];
  const answer = (res: ServerResponse, token: Token): void => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(token));
  };
  const fresh = (n: number, key?: string): Token => ({ value: key === undefined ? `tok-${n}` : `tok-${n}-${key}`, expiresAt: Date.now() + ttlMs });
  let server: LoopbackServer | undefined;
  const api: TokenServer = {
    url: '',
    get calls() {
      return calls;
    },
    callsByKey,
    hold: false,
    nextHeld: () =>
      new Promise<HeldCall>((resolve) => {
        const call = held.shift();
        if (call !== undefined) resolve(call);
        else takers.push(resolve);
      }),
    close: async () => server?.close(),
  };
  server = await listen((req, res) => {
    calls += 1;
    const n = calls;
    const key = req.headers['x-key'];
    if (typeof key === 'string') callsByKey.set(key, (callsByKey.get(key) ?? 0) + 1);
    if (!api.hold) {
      answer(res, fresh(n, typeof key === 'string' ? key : undefined));
      return;
    }
    const header = req.headers['x-process'];
    const call: HeldCall = {
      process: typeof header === 'string' ? header : undefined,
      respond: (token = fresh(n)) => answer(res, token),
      gone: new Promise((resolve) => res.once('close', () => resolve())),
    };
    const taker = takers.shift();
    if (taker !== undefined) taker(call);
    else held.push(call);
  });
  api.url = `${server.origin}/token`;
  return api;
}

/**
 * A token source that fetches from `url`, passing its signal on, and the stream key (in a
 * `TokenStreams`) as `x-key`.
 */
export function httpSource(url: string, processName = String(process.pid)): TokenSource {
  return async ({ signal, key }) => {
    const res = await fetch(url, { signal, headers: { 'x-process': processName, ...(key === undefined ? {} : { 'x-key': key }) } });
    return (await res.json()) as Token;
  };
}
