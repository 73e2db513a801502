import type { BeforeRequestHook, NormalizedOptions } from 'ky';
import { isSameOrigin, requestTargets } from '../../http/origins.js';
import { rejectsToken } from '../../http/token-header.js';
import type { Token } from '../../token.js';
import { adapterSetup, type AdapterOptions, type AdapterTokens } from '../options.js';

/** How {@link kyAuth} is set up. Only `origins` is required. */
export type KyAuthOptions = AdapterOptions;

/** The hooks {@link kyAuth} returns, for `ky.create({ hooks })` or `ky.extend({ hooks })`. */
export interface KyAuthHooks {
  readonly beforeRequest: BeforeRequestHook[];
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
 * A `beforeRequest` hook for ky that sends each request to `options.origins` itself, with
 * `Authorization: <type> <token>` from `tokens`, and answers it: on a rejection of that token
 * (a 401, or a challenge with `error="invalid_token"`) it invalidates the token sent and sends
 * the request once more with the next one. ky goes on with the answer as with its own fetch's
 * (`afterResponse` hooks, `HTTPError`, `beforeError`, its retries). A second rejection
 * reaches the caller as ky reports it (`HTTPError` by default).
 *
 * - It answers the request, ky's way for a hook to skip ky's fetch: ky runs no
 *   `beforeRequest` hook after one that answers. Hooks listed before it run; list yours
 *   before it (`ky.extend` appends a child's hooks to its parent's: give `kyAuth` to the
 *   instance that adds the last ones). Requests to other origins it leaves to ky, with every
 *   hook.
 * - Why a hook that answers: ky clones every response, and so tees its body, for each
 *   `afterResponse` hook, which costs ky about a sixth of its requests a second on
 *   loopback even for a hook that does nothing. Sending from `beforeRequest` costs nothing of
 *   the kind.
 * - It sends with ky's `fetch` (the global one unless the caller gave one) and the fetch
 *   options ky would give (undici's `dispatcher`). ky's `timeout` bounds the whole exchange,
 *   the wait for a token and a retry included; when it runs out the request is aborted and
 *   rejects with fetch's `TimeoutError` `DOMException`, which ky's `isTimeoutError` knows (not
 *   an instance of ky's `TimeoutError` class, which this entry does not load).
 * - Any body can be sent again, a stream included: ky's request is kept whole and each
 *   attempt sends a clone of it.
 * - Redirects are followed by fetch, which drops Authorization on the first hop to another
 *   origin for the rest of the chain. fetch tells where a chain ended but not where it went,
 *   so a response that was redirected is never taken for a rejection of the token: it
 *   reaches the caller as it is, a 401 included.
 * - A caller's `signal` also aborts the wait for a token, which then rejects with the
 *   signal's reason, as fetch does.
 * - A token error (no token could be had) is an error before any response, which ky retries
 *   as it retries a network error (`retry.limit`, for its retriable methods), asking again.
 * - ky's request never holds the token once the hook is done: the Request in ky's errors
 *   shows none.
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

  const send: BeforeRequestHook = async (request, kyOptions) => {
    const { url, carries } = targets(request.url);
    if (!carries) return undefined;
    // ky's normalized options hold its `fetch` (the global one unless the caller gave one).
    const fetchWith = (kyOptions as { fetch?: typeof fetch }).fetch ?? fetch;
    const { timeout } = kyOptions as { timeout?: unknown };
    const exchange = new Exchange(request.signal, typeof timeout === 'number' ? timeout : undefined);
    const { signal } = exchange;
    const init = fetchInit(request, kyOptions, signal);
    /** One attempt: a token, then a clone of ky's request with it (ky keeps its own for its retries). */
    const attempt = async (): Promise<{ response: Response; sent: Token }> => {
      const { token: sent, header } = setup.sentFor(await setup.getToken(signal));
      const own = request.headers.get('authorization');
      request.headers.set('authorization', header);
      try {
        return { response: await fetchWith(request.body === null ? request : request.clone(), init), sent };
      } finally {
        // ky hands its request to its errors and its hooks: it holds the token no longer.
        if (own === null) request.headers.delete('authorization');
        else request.headers.set('authorization', own);
      }
    };
    try {
      const { response, sent } = await attempt();
      // fetch tells where a redirect chain ended, not where it went: one that passed through
      // another origin reached its end without the token, whose rejection it cannot be.
      if (response.redirected || !isSameOrigin(url, new URL(response.url || request.url)) || !rejectsToken(response, sent)) return response;
      setup.invalidate(sent);
      // The rejection's body is not the caller's: read no further, and free its connection.
      void response.body?.cancel().catch(() => undefined);
      return (await attempt()).response;
    } catch (error) {
      // What fetch rejects with on an abort: the reason of the signal that aborted.
      if (signal.aborted) throw signal.reason;
      throw error;
    } finally {
      exchange.done();
    }
  };

  return { beforeRequest: [send] };
}

/**
 * The signal of one exchange: it aborts with the reason of the request's signal (which
 * follows ky's and the caller's), or with fetch's `TimeoutError` when ky's `timeout` runs out
 * first.
 */
class Exchange {
  readonly signal: AbortSignal;
  readonly #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(caller: AbortSignal, timeoutMs: number | undefined) {
    if (timeoutMs === undefined || caller.aborted) {
      this.signal = caller;
      return;
    }
    const controller = new AbortController();
    this.signal = controller.signal;
    this.#timer = setTimeout(() => controller.abort(new DOMException(`The request timed out after ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    // A listener, not AbortSignal.any: one signal more a request cost ky about a tenth of its
    // requests a second. A Request's signal is its own, made with the Request, so the
    // listener goes with it; it stays while the body is read, which the caller's abort must
    // still end.
    caller.addEventListener('abort', () => controller.abort(caller.reason), { once: true });
  }

  /** The answer is in (its body may still be read): the timeout no longer runs. */
  done(): void {
    clearTimeout(this.#timer);
  }
}

/** The fetch init ky would give (its options that neither ky nor a Request keeps), with `signal`. */
function fetchInit(request: Request, options: NormalizedOptions, signal: AbortSignal): Record<string, unknown> {
  const init: Record<string, unknown> = { signal };
  // for...in, as ky's findUnknownOptions: no array an option, on every request.
  for (const key in options) {
    if (!Object.hasOwn(options, key) || KY_OPTIONS.has(key) || REQUEST_OPTIONS.has(key) || key in request) continue;
    init[key] = (options as unknown as Record<string, unknown>)[key];
  }
  return init;
}
