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
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * A fetch implementation: node-fetch v3 (the default), the global `fetch`, or a wrapper
 * that adds a proxy agent or logging.
 */
export type TokenFetch = (url: string, init: TokenRequestInit) => Promise<TokenResponseLike>;

// Statuses whose Response must be built with a null body (fetch standard).
const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);
// The only headers oauth4webapi reads from a token response. The rest (Location, a
// WWW-Authenticate, a debug header echoing the request) never reach an error.
const keptHeaders = new Set(['content-type', 'retry-after']);

/**
 * Wraps `fetch` so that it returns a WHATWG `Response`, as oauth4webapi expects.
 *
 * Why: node-fetch's body is a Node stream, and oauth4webapi calls `response.body.cancel()`
 * on every RFC 6749 5.2 error, which then fails with a TypeError that hides the OAuth error.
 * Token responses are small, so the body is read whole (still under the caller's signal).
 */
export function webFetch(fetch: TokenFetch): (url: string, init: TokenRequestInit) => Promise<Response> {
  return async (url, init) => {
    const response = await fetch(url, init);
    const headers = new Headers();
    response.headers.forEach((value, name) => {
      // This source answers no challenges: oauth4webapi would turn a 401 carrying one into
      // a WWWAuthenticateChallengeError before reading the body, losing the `invalid_client`
      // that RFC 6749 5.2 puts there. A value no Headers accepts is dropped, as Headers'
      // own error would quote it.
      const key = name.toLowerCase();
      if (keptHeaders.has(key) && isHeaderValue(value)) headers.append(key, value);
    });
    const body = nullBodyStatuses.has(response.status) ? null : await response.arrayBuffer();
    return new Response(body, { status: response.status, headers });
  };
}

const isHeaderValue = (value: string): boolean => /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
