import { statusError, tooLargeError } from './failure.js';
import { discardBody, readBody, readWhole, type BodyLike } from './read-body.js';

/** The request a token source hands to `fetch`. Both node-fetch and the global fetch take it. */
export interface TokenRequestInit {
  method: string;
  headers: Record<string, string>;
  body: URLSearchParams;
  redirect: 'manual';
  signal?: AbortSignal;
}

/** The part of a fetch response the token source reads. node-fetch's and the global one fit. */
export interface TokenResponseLike {
  readonly status: number;
  readonly headers: { forEach(callback: (value: string, name: string) => void): void };
  /**
   * The body as it arrives (node-fetch's Node stream, the global fetch's ReadableStream):
   * read up to `maxResponseBytes`, then cancelled. A transport without it is read with
   * `arrayBuffer()`, which can only be refused once it is whole.
   */
  readonly body?: BodyLike | null;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * A fetch implementation: node-fetch v3 (the default), the global `fetch`, or a wrapper
 * that adds a proxy agent or logging.
 */
export type TokenFetch = (url: string, init: TokenRequestInit) => Promise<TokenResponseLike>;

// Statuses whose Response must be built with a null body (fetch standard).
const nullBodyStatuses = new Set([204, 205, 304]);
// The only headers a token response is read for: what oauth4webapi reads, and `date`, whose
// clock times a JWT's `exp`. The rest (Location, a debug header echoing the request) never
// reach an error. WWW-Authenticate is left out because this source answers no challenges:
// oauth4webapi would turn a 401 carrying one into a WWWAuthenticateChallengeError before
// reading the body, losing the `invalid_client` that RFC 6749 5.2 puts there.
const keptHeaders = new Set(['content-type', 'retry-after', 'date']);

/**
 * Wraps `fetch` so that it returns a WHATWG `Response`, as oauth4webapi expects, holding at
 * most `maxResponseBytes` of body.
 *
 * Why: node-fetch's body is a Node stream, and oauth4webapi calls `response.body.cancel()`
 * on every RFC 6749 5.2 error, which then fails with a TypeError that hides the OAuth error.
 * Token responses are small, so the body is read whole (under the caller's signal) before
 * oauth4webapi sees it; one that is longer than the cap is refused before it is.
 *
 * @throws {OAuthError} `response-too-large` (by `Content-Length`, or once the count passes
 * the cap), or `http-status` for a status outside 200-599.
 */
export function webFetch(fetch: TokenFetch, maxResponseBytes: number): (url: string, init: TokenRequestInit) => Promise<Response> {
  return async (url, init) => {
    // A signal that aborted while oauth4webapi prepared the request: node-fetch v3, handed an
    // aborted signal, destroys its request body stream with an error nobody listens to, which
    // crashes the process. No request is sent for an abandoned call anyway.
    init.signal?.throwIfAborted();
    const response = await fetch(url, init);
    const { status, body } = response;
    const headers = new Headers();
    let declaredLength: string | undefined;
    response.headers.forEach((value, name) => {
      const key = name.toLowerCase();
      if (key === 'content-length') declaredLength = value.trim();
      // A value no Headers accepts (from a custom transport) is dropped: Headers' error would quote it.
      else if (keptHeaders.has(key) && isHeaderValue(value)) headers.append(key, value);
    });
    if (!(Number.isInteger(status) && status >= 200 && status <= 599)) {
      discardBody(body);
      throw statusError(status);
    }
    if (declaredLength !== undefined && /^\d+$/.test(declaredLength) && Number(declaredLength) > maxResponseBytes) {
      discardBody(body);
      throw tooLargeError(status, maxResponseBytes);
    }
    if (nullBodyStatuses.has(status)) {
      discardBody(body);
      return new Response(null, { status, headers });
    }
    const bytes =
      body === undefined
        ? await readWhole(() => response.arrayBuffer(), maxResponseBytes, init.signal)
        : body === null
          ? new Uint8Array(0)
          : await readBody(body, maxResponseBytes, init.signal);
    if (bytes === undefined) throw tooLargeError(status, maxResponseBytes);
    return new Response(bytes, { status, headers });
  };
}

const isHeaderValue = (value: string): boolean => /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
