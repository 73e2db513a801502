import type nodeFetch from 'node-fetch';
import { argumentChecker, optionChecker, checkOptionsObject } from '../options.js';
import { defaultFetch } from './default-fetch.js';
import { parseOrigins, requestTarget, requestTargets, type RequestTarget } from './origins.js';
import { rejectsToken, sentTokens } from './token-header.js';
import { isRedirectStatus, nextHop } from './redirects.js';
import { fromRequest, isRequestLike, NO_INIT, prepareRequest, type Hop, type PreparedRequest } from './request.js';
import type { TokenStream } from '../token-stream.js';

/** What authFetch reads of a response. node-fetch's and the global `Response` both fit. */
export interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: unknown;
  readonly url: string;
}

/** A fetch function authFetch can wrap: node-fetch v3 or the global `fetch`. */
export type FetchFunction = (input: never, init?: never) => Promise<FetchResponseLike>;

/** What authFetch needs of a {@link TokenStream}. */
export type AuthFetchTokens = Pick<TokenStream, 'getToken' | 'invalidate'>;

/** How {@link authFetch} is set up. Only `origins` is required. */
export interface AuthFetchOptions<F extends FetchFunction = typeof nodeFetch> {
  /**
   * The origins (scheme, host and port, such as `'https://api.example.com'`) that may
   * receive the token. Requests anywhere else go out untouched, without a token. Plain
   * `http:` is refused unless the host is loopback or `allowInsecureHttp` is set.
   * Required: there is no default.
   */
  origins: readonly (string | URL)[];
  /**
   * The fetch that sends each request; `globalThis.fetch` works too.
   * @default node-fetch v3
   */
  fetch?: F;
  /**
   * Accepts plain `http:` origins on hosts other than loopback, which sends the token
   * in clear text. For a trusted private network only.
   * @default false
   */
  allowInsecureHttp?: boolean;
}

const check = optionChecker('authFetch');
const checkArgument = argumentChecker('authFetch');

type LooseFetch = (input: unknown, init?: Record<string, unknown>) => Promise<FetchResponseLike>;

/**
 * Wraps `fetch` so that requests to `options.origins` carry `Authorization: <type> <token>`
 * from `tokens`, survive one token rejection and never hand the token to another origin.
 *
 * - Everything a call is given (URL, Request, init, headers, body) is copied when the call
 *   is made and never read again, as fetch does: changing it afterwards changes nothing
 *   that is sent, on the first attempt, a retry or a redirect. Only the signal stays live.
 * - A request to another origin goes to the wrapped fetch exactly as given, the caller's
 *   own headers included: nothing is added or removed, and no token is asked for. To an
 *   allowed origin, this token's Authorization replaces any the caller set, and a URL with
 *   credentials is refused with a TypeError (fetch refuses it too).
 * - A 401, or a `WWW-Authenticate` challenge with `error="invalid_token"`, invalidates the
 *   token that was sent (a copy of its value and type, whatever `tokens` did to its own
 *   object since) and retries once with the next one, if the body can be sent again (none,
 *   string, Buffer/typed array, ArrayBuffer, URLSearchParams, FormData, Blob; not a stream).
 *   The rejected response's body is cancelled first. A second rejection is returned as is.
 *   The header is built once per token value and type, not per request.
 * - Redirects are followed here (the wrapped fetch gets `redirect: 'manual'`), honouring
 *   the caller's `redirect` mode and node-fetch's `follow` limit (default 20; `0` rejects at
 *   the first redirect, as node-fetch v3 does). Each redirect's body is let go of before the
 *   next hop. Only hops to the first origin carry the token; the first hop to another origin
 *   (other host, port or scheme) drops Authorization, Cookie and Proxy-Authorization for
 *   the rest of the chain, and a response from there never invalidates the token.
 *
 * @returns a function with the signature of the wrapped fetch.
 * @throws {TypeError} at once, naming the option, when `tokens` or an option is invalid.
 * The returned function rejects with `TokenError` when no token can be had (refresh failure,
 * `ERR_TOKEN_ABORTED` when the caller's signal aborts a wait for a token, the retry's
 * included), with a TypeError for a request it refuses (credentials in a URL, a bad
 * `redirect` or `follow`, a redirect it may not follow) and with the wrapped fetch's own
 * errors otherwise.
 *
 * @example
 * ```ts
 * const fetch = authFetch(tokens, { origins: ['https://api.example.com'] })
 * const res = await fetch('https://api.example.com/orders', { signal })
 * ```
 */
export function authFetch<F extends FetchFunction = typeof nodeFetch>(
  tokens: AuthFetchTokens,
  options: AuthFetchOptions<F>,
): F {
  checkArgument(typeof tokens?.getToken === 'function' && typeof tokens.invalidate === 'function', 'tokens', 'a TokenStream (or anything with getToken and invalidate)');
  checkOptionsObject(check, options, 'origins');
  const { origins, fetch = defaultFetch, allowInsecureHttp = false } = options;
  check(typeof fetch === 'function', 'fetch', 'a function');
  check(typeof allowInsecureHttp === 'boolean', 'allowInsecureHttp', 'a boolean');
  const allowed = parseOrigins(origins, allowInsecureHttp);
  const send = fetch as unknown as LooseFetch;
  const sentFor = sentTokens();
  const targetOfString = requestTargets(allowed, 'authFetch');
  // A URL of our own: the caller may change its URL object as soon as this call returns.
  const target = (input: unknown): RequestTarget =>
    typeof input === 'string' ? targetOfString(input) : requestTarget(allowed, urlOf(input), 'authFetch');

  async function fetchWithToken(input: unknown, init?: Record<string, unknown>): Promise<FetchResponseLike> {
    const { url, carries } = target(input);
    if (!carries) return send(input, init);
    // Everything of the input is copied before the first await. Each await costs client CPU
    // that shows beside a loopback request, so the common case (no Request body to buffer,
    // no redirect) awaits only the token and the response.
    const request = isRequestLike(input) ? await fromRequest(input, url, init ?? NO_INIT) : prepareRequest(undefined, url, init ?? NO_INIT);
    const tokenOptions = request.signal === undefined ? undefined : { signal: request.signal };
    let sent = sentFor(await tokens.getToken(tokenOptions));
    let hop = firstHop(request, sent.header);
    let response = await send(hop.url.href, initOf(request, hop));
    if (isRedirectStatus(response.status)) [response, hop] = await follow(send, request, hop, response);
    if (!hop.onFirstOrigin || !rejectsToken(response, sent.token)) return response;
    // The copy that was sent: the tokens object may have changed its own since.
    tokens.invalidate(sent.token);
    if (!request.replayable) return response;
    discard(response);
    sent = sentFor(await tokens.getToken(tokenOptions));
    hop = firstHop(request, sent.header);
    response = await send(hop.url.href, initOf(request, hop));
    return isRedirectStatus(response.status) ? (await follow(send, request, hop, response))[0] : response;
  }
  return fetchWithToken as unknown as F;
}

/** The first hop of `request`, carrying the Authorization value `header`. */
function firstHop(request: PreparedRequest, header: string): Hop {
  const { url, method, headers, body } = request.first;
  return { url, method, headers: { ...headers, authorization: header }, body, onFirstOrigin: true };
}

/** What the wrapped fetch gets for `hop`: redirects always come back here. */
function initOf(request: PreparedRequest, hop: Hop): Record<string, unknown> {
  const own = { method: hop.method, headers: hop.headers, body: hop.body, redirect: 'manual', signal: request.signal };
  return request.extra === undefined ? own : { ...request.extra, ...own };
}

/**
 * Follows the redirect that `response` to `hop` may be, as the caller asked, until a
 * response that is not one. Returns that response and the hop that got it.
 */
async function follow(send: LooseFetch, request: PreparedRequest, hop: Hop, response: FetchResponseLike): Promise<[FetchResponseLike, Hop]> {
  for (let hops = 0; ; hops += 1) {
    const location = isRedirectStatus(response.status) ? response.headers.get('location') : null;
    if (location === null || request.redirect === 'manual') {
      if (hops > 0) markRedirected(response, hop.url);
      return [response, hop];
    }
    discard(response);
    if (request.redirect === 'error') throw new TypeError("authFetch: redirect refused, the request's redirect mode is 'error'");
    if (hops >= request.follow) throw new TypeError(`authFetch: more than ${request.follow} redirects`);
    hop = nextHop(hop, response.status, location, request.replayable);
    response = await send(hop.url.href, initOf(request, hop));
  }
}

function urlOf(input: unknown): URL {
  if (input instanceof URL) return new URL(input.href);
  if (isRequestLike(input)) return new URL(input.url);
  return new URL(String(input));
}

/**
 * Lets go of a response nobody will read, so its socket is not left waiting: a web stream
 * is cancelled, a Node stream (node-fetch) destroyed.
 */
function discard(response: FetchResponseLike): void {
  const body = response.body as
    | { cancel?: () => Promise<void>; destroy?: () => void; on?: (event: string, listener: () => void) => void }
    | null
    | undefined;
  if (body === null || body === undefined) return;
  if (typeof body.cancel === 'function') body.cancel().catch(() => undefined);
  else if (typeof body.destroy === 'function') {
    body.on?.('error', () => undefined);
    body.destroy();
  }
}

// fetch reports the final URL of a followed chain; the wrapped fetch only saw the last hop.
function markRedirected(response: FetchResponseLike, url: URL): void {
  Object.defineProperty(response, 'url', { value: url.href, configurable: true });
  Object.defineProperty(response, 'redirected', { value: true, configurable: true });
}
