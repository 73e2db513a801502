import type { AfterResponseHook, BeforeRequestHook, NormalizedOptions } from 'ky';
import { isSameOrigin, requestTargets } from '../../http/origins.js';
import { rejectsToken, tokenOfHeader } from '../../http/token-header.js';
import { adapterSetup, type AdapterOptions, type AdapterTokens } from '../options.js';

/** How {@link kyAuth} is set up. Only `origins` is required. */
export type KyAuthOptions = AdapterOptions;

/** The hooks {@link kyAuth} returns, for `ky.create({ hooks })` or `ky.extend({ hooks })`. */
export interface KyAuthHooks {
  readonly beforeRequest: BeforeRequestHook[];
  readonly afterResponse: AfterResponseHook[];
}

// The options ky keeps to itself, and those a Request holds: what is left of ky's options
// goes to fetch as its init, as ky's own `findUnknownOptions` does (undici's `dispatcher`).
const KY_OPTIONS = new Set([
  'json', 'parseJson', 'stringifyJson', 'searchParams', 'prefixUrl', 'retry', 'timeout', 'hooks',
  'throwHttpErrors', 'onDownloadProgress', 'onUploadProgress', 'fetch', 'context',
]);
const REQUEST_OPTIONS = new Set([
  'method', 'headers', 'body', 'mode', 'credentials', 'cache', 'redirect', 'referrer', 'referrerPolicy',
  'integrity', 'keepalive', 'signal', 'window', 'duplex',
]);

/**
 * Hooks for ky that send `Authorization: <type> <token>` from `tokens` with every request to
 * `options.origins`, and on a rejection of that token (a 401, or a challenge with
 * `error="invalid_token"`) invalidate the token sent and send the request once more with the
 * next one. A second rejection reaches the caller as ky reports it (`HTTPError` by default).
 *
 * - Any body can be sent again, a stream included: ky keeps a clone of every request for
 *   its own retries, and the retry here sends a clone of that.
 * - Redirects are followed by fetch, which drops Authorization on the first hop to another
 *   origin for the rest of the chain. fetch tells where a chain ended but not where it went,
 *   so a response that was redirected is never taken for a rejection of the token: it
 *   reaches the caller as it is, a 401 included.
 * - The retry after a rejection runs under ky's `timeout` too, but as a fetch of its own:
 *   when it times out, the error is fetch's `TimeoutError` DOMException, not ky's
 *   `TimeoutError`. Other `beforeRequest` hooks are not run again for it: it is a clone of
 *   the request they prepared.
 * - A caller's `signal` also aborts the wait for a token, which then rejects with the
 *   signal's reason, as fetch does.
 * - A token error (no token could be had) is an error before any response, which ky retries
 *   as it retries a network error (`retry.limit`, for its retriable methods), asking again.
 * - Once a request is answered, or aborted (a `timeout` included), it no longer holds the
 *   token: the Request in ky's errors shows none.
 *
 * @throws {TypeError} at once, naming the option, when `tokens` or an option is invalid.
 *
 * @example
 * ```ts
 * const api = ky.create({ prefixUrl: 'https://api.example.com', hooks: kyAuth(tokens, { origins: ['https://api.example.com'] }) })
 * const orders = await api.get('orders').json()
 * ```
 */
export function kyAuth(tokens: AdapterTokens, options: KyAuthOptions): KyAuthHooks {
  const setup = adapterSetup('kyAuth', tokens, options);
  // A Request's URL is parsed already, and holds no credentials (a Request refuses them):
  // checking it cannot throw.
  const targets = requestTargets(setup.allowed, 'kyAuth');

  const authorize: BeforeRequestHook = async (request) => {
    if (!targets(request.url).carries) return;
    const { header } = setup.sentFor(await tokenFor(request));
    request.headers.set('authorization', header);
    // ky's timeout aborts this request's signal, then builds its TimeoutError with this request.
    request.signal.addEventListener('abort', () => forget(request, header), { once: true });
  };

  const retryRejected: AfterResponseHook = async (request, kyOptions, response) => {
    const { url, carries } = targets(request.url);
    if (!carries) return;
    const header = request.headers.get('authorization');
    // ky keeps this request for its own retries, which ask for a token again, and hands it to
    // its errors: it holds the token no longer.
    forget(request, header);
    const sent = tokenOfHeader(header);
    // fetch tells where a redirect chain ended, not where it went: one that passed through
    // another origin reached its end without the token, whose rejection it cannot be.
    if (sent === undefined || response.redirected || !isSameOrigin(url, new URL(response.url || request.url))) return;
    if (!rejectsToken(response, sent)) return;
    setup.invalidate(sent);
    const again = request.clone();
    again.headers.set('authorization', setup.sentFor(await tokenFor(again)).header);
    // ky's normalized options hold its `fetch` (the global one unless the caller gave one).
    const send = (kyOptions as { fetch?: typeof fetch }).fetch ?? fetch;
    return send(withTimeout(again, kyOptions), fetchInit(again, kyOptions));
  };

  /** A token for `request`, or the reason of its signal if that aborts the wait, as fetch would reject. */
  async function tokenFor(request: Request) {
    try {
      return await setup.getToken(request.signal);
    } catch (error) {
      if (request.signal.aborted) throw request.signal.reason;
      throw error;
    }
  }

  return { beforeRequest: [authorize], afterResponse: [retryRejected] };
}

/** Removes `header` from `request`, if it is the Authorization it holds. */
function forget(request: Request, header: string | null): void {
  if (header !== null && request.headers.get('authorization') === header) request.headers.delete('authorization');
}

function withTimeout(request: Request, options: NormalizedOptions): Request {
  const { timeout } = options as { timeout?: unknown };
  if (typeof timeout !== 'number') return request;
  return new Request(request, { signal: AbortSignal.any([request.signal, AbortSignal.timeout(timeout)]) });
}

/** The fetch init ky would give: its options that neither ky nor a Request keeps. */
function fetchInit(request: Request, options: NormalizedOptions): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!KY_OPTIONS.has(key) && !REQUEST_OPTIONS.has(key) && !(key in request)) init[key] = value;
  }
  return init;
}
