import type { AfterResponseHook, BeforeErrorHook, BeforeRedirectHook, BeforeRequestHook } from 'got';
import { CREDENTIAL_HEADERS, requestTargets } from '../../http/origins.js';
import { staysOnFirstOrigin } from '../../http/redirects.js';
import { isReplayable } from '../../http/request.js';
import { rejectsToken, type SentToken } from '../../http/token-header.js';
import { adapterSetup, type AdapterOptions, type AdapterTokens } from '../options.js';

/** How {@link gotAuth} is set up. Only `origins` is required. */
export type GotAuthOptions = AdapterOptions;

/** The hooks {@link gotAuth} returns, for `got.extend({ hooks })`. */
export interface GotAuthHooks {
  readonly beforeRequest: BeforeRequestHook[];
  readonly beforeRedirect: BeforeRedirectHook[];
  readonly afterResponse: AfterResponseHook[];
  readonly beforeError: BeforeErrorHook[];
}

/**
 * One call's chain of requests: its redirect hops and its retries, which got makes from
 * copies of the call's options. Kept in `options.context` under a symbol, because got copies
 * a context shallowly: every copy holds this one object. Its fields are private, so a log of
 * the options shows no token.
 */
class Chain {
  /** The URL of the hop under way. */
  #url: URL;
  /** Whether this hop may carry the token: the call started at an allowed origin and never left it. */
  #carries: boolean;
  #sent: SentToken | undefined;
  #retried = false;
  /** Stops listening to the caller's signal for the request under way. */
  #unlisten: (() => void) | undefined;

  constructor(url: URL, carries: boolean) {
    this.#url = url;
    this.#carries = carries;
  }

  get carries(): boolean {
    return this.#carries;
  }

  get sent(): SentToken | undefined {
    return this.#sent;
  }

  /**
   * Records that `headers` now carry `sent`. got's abort and its signal's timeout build an
   * error with these options, and call no hook: the token leaves them when the signal aborts.
   */
  send(sent: SentToken, headers: Record<string, unknown>, signal: AbortSignal | undefined): void {
    this.settle();
    this.#sent = sent;
    if (signal === undefined) return;
    const onAbort = (): void => forget(headers, sent);
    signal.addEventListener('abort', onAbort, { once: true });
    this.#unlisten = () => signal.removeEventListener('abort', onAbort);
  }

  /** The request under way is answered or failed: its listener on the caller's signal goes. */
  settle(): void {
    this.#unlisten?.();
    this.#unlisten = undefined;
  }

  /** Moves the chain to the hop at `url`; whether it may still carry the token. */
  follow(url: URL): boolean {
    this.#carries = staysOnFirstOrigin(this.#carries, this.#url, url);
    this.#url = url;
    return this.#carries;
  }

  /** Takes the one retry of the call; false when it was taken. */
  retry(): boolean {
    if (this.#retried) return false;
    this.#retried = true;
    return true;
  }
}

const CHAIN = Symbol('rx-token-stream chain');

type Context = Record<string | symbol, unknown>;

const chainOf = (options: { context: object } | undefined): Chain | undefined => {
  const chain = (options?.context as Context | undefined)?.[CHAIN];
  return chain instanceof Chain ? chain : undefined;
};

/**
 * Hooks for got that send `Authorization: <type> <token>` from `tokens` with every request
 * to `options.origins`, and on a rejection of that token (a 401, or a challenge with
 * `error="invalid_token"`) invalidate the token sent and retry the call once with the next
 * one, if its body can be sent again (none, a string, a Buffer, `json` or `form`; not a
 * stream, an iterable or a FormData, which got sends as a stream). A second rejection
 * reaches the caller as got reports it (`HTTPError` by default).
 *
 * - Redirects: only hops that stay on the first origin (scheme, host and port) carry the
 *   token. got itself keeps Authorization on a redirect from https to http on the same host
 *   and port; these hooks drop it there too. Once a call's chain has left its first origin,
 *   no later hop, and no retry, carries Authorization, Cookie or Proxy-Authorization.
 * - The retry is one of got's retries (`retryCount` counts it), made whatever `retry.limit`
 *   says. got runs `afterResponse` hooks for its promise API only: `got.stream` gets the
 *   token but no retry.
 * - A caller's `signal` also aborts the wait for a token; got rejects with its `AbortError`.
 * - Once a call is answered, fails or is aborted, its options no longer hold the token, and
 *   got's errors hide the rest (their `request` and `response` are non-enumerable): they
 *   show no token. A successful response is left as got made it: its `request` and `req`
 *   lead to Node's request, headers included, as with a fixed header. The stream API
 *   (`got.stream`) runs none of these hooks: its errors may show the token.
 *
 * @throws {TypeError} at once, naming the option, when `tokens` or an option is invalid.
 *
 * @example
 * ```ts
 * const api = got.extend({ prefixUrl: 'https://api.example.com', hooks: gotAuth(tokens, { origins: ['https://api.example.com'] }) })
 * const orders = await api.get('orders').json()
 * ```
 */
export function gotAuth(tokens: AdapterTokens, options: GotAuthOptions): GotAuthHooks {
  const setup = adapterSetup('gotAuth', tokens, options);
  const targets = requestTargets(setup.allowed, 'gotAuth');

  const authorize: BeforeRequestHook = async (request) => {
    const { url } = request;
    if (!(url instanceof URL)) return;
    let chain = chainOf(request);
    if (chain === undefined) {
      // Our own parse of got's URL: the chain keeps it, and got may reuse its object.
      const target = targets(url.href);
      chain = new Chain(target.url, target.carries && withoutCredentials(request));
      (request.context as Context)[CHAIN] = chain;
    }
    if (!chain.carries) return;
    const signal = request.signal as AbortSignal | undefined;
    const sent = setup.sentFor(await setup.getToken(signal));
    request.headers.authorization = sent.header;
    // The stream API runs no hook when it ends well, so nothing would stop that listening.
    chain.send(sent, request.headers, request.isStream ? undefined : signal);
  };

  const followRedirect: BeforeRedirectHook = (next) => {
    const chain = chainOf(next);
    if (chain !== undefined && next.url instanceof URL && !chain.follow(next.url)) {
      for (const name of CREDENTIAL_HEADERS) delete next.headers[name];
    }
  };

  const retryRejected: AfterResponseHook = (response, retryWithMergedOptions) => {
    const { options } = response.request;
    const chain = chainOf(options);
    const sent = chain?.sent;
    if (chain === undefined || sent === undefined) return response;
    chain.settle();
    // got's HTTPError for this response shows these options; got hides its `request` and
    // `response`, which lead to Node's request and its headers as sent.
    forget(options.headers, sent);
    if (!chain.carries || !rejectsToken(responseOf(response), sent.token)) return response;
    // A second rejection is the caller's, as it is, and invalidates nothing.
    if (!chain.retry()) return response;
    setup.invalidate(sent.token);
    if (!isReplayable(options.body)) return response;
    // Every afterResponse hook sees the retried response, this one included (which now
    // lets it through), as if the rejected one had never been: got would otherwise skip this
    // hook and those after it.
    return retryWithMergedOptions({ preserveHooks: true });
  };

  const forgetOnError: BeforeErrorHook = (error) => {
    const chain = chainOf(error.options);
    chain?.settle();
    const sent = chain?.sent;
    if (sent !== undefined) forget(error.options.headers, sent);
    return error;
  };

  return { beforeRequest: [authorize], beforeRedirect: [followRedirect], afterResponse: [retryRejected], beforeError: [forgetOnError] };
}

/**
 * Whether a request to an allowed origin is free of credentials: got moves those of the URL
 * into `username` and `password` and sends them as Basic auth, which would stand beside the
 * token. As authFetch does, such a request is refused.
 * @throws {TypeError} when it holds credentials.
 */
function withoutCredentials(options: { username: string; password: string }): boolean {
  if (options.username !== '' || options.password !== '') throw new TypeError('gotAuth: a request URL must not hold credentials');
  return true;
}

/** Removes the token `sent` from `headers`, if they still hold it. */
function forget(headers: Record<string, unknown>, sent: SentToken): void {
  if (headers.authorization === sent.header) delete headers.authorization;
}

/** What {@link rejectsToken} reads of a got response. */
function responseOf(response: { statusCode: number; headers: Record<string, string | string[] | undefined> }) {
  return {
    status: response.statusCode,
    headers: {
      get(name: string): string | null {
        const value = response.headers[name];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
  };
}
