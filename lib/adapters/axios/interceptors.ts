import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { CREDENTIAL_HEADERS, requestTargets } from '../../http/origins.js';
import { staysOnFirstOrigin } from '../../http/redirects.js';
import { isReplayable } from '../../http/request.js';
import { rejectsToken, type SentToken } from '../../http/token-header.js';
import { argumentChecker } from '../../options.js';
import { adapterSetup, type AdapterOptions, type AdapterTokens } from '../options.js';
import { hideFields } from '../hide.js';
import { requestHref } from './config.js';

/** How {@link axiosAuth} is set up. Only `origins` is required. */
export type AxiosAuthOptions = AdapterOptions;

/** What an authorized request of one call carries: the token it sent and where its redirects led. */
interface Sent {
  readonly sent: SentToken;
  /** The URL of the hop under way. */
  url: URL;
  /** Whether every hop so far stayed on the first origin (and so carried the token). */
  onFirstOrigin: boolean;
  /** The caller's own `beforeRedirect`, which runs after this rule's. */
  readonly callers: RedirectHook | undefined;
}

type RedirectHook = (options: { href: string; headers: Record<string, unknown> }, ...rest: unknown[]) => void;

/**
 * Marks the config of the one retry that follows a rejected token. A symbol: axios copies a
 * config's own symbol keys when it merges it, and neither JSON nor a log shows them.
 */
const RETRY = Symbol('rx-token-stream retry');

// What axios hands back that leads to Node's requests and sockets (see ../hide.ts).
const REQUEST = ['request'];
const AGENTS = ['httpAgent', 'httpsAgent'];

/**
 * Installs a request interceptor and a response interceptor on `instance`, so that requests
 * to `options.origins` carry `Authorization: <type> <token>` from `tokens`, and a rejection
 * of that token (a 401, or a challenge with `error="invalid_token"`, whether axios resolves
 * or rejects it) invalidates the token sent and sends the request once more with the next
 * one, if its data can be sent again (not a stream). A second rejection reaches the caller.
 *
 * - The URL is the one axios sends to (`baseURL` and `url` combined as axios does): requests
 *   anywhere else, and over `socketPath`, go out untouched. To an allowed origin, this token's
 *   Authorization replaces any the caller set, and a URL with credentials is refused.
 * - Redirects (followed by axios's Node adapter): only hops that stay on the first origin
 *   keep the token; once a chain leaves it, no later hop carries Authorization, Cookie or
 *   Proxy-Authorization, and a response from there rejects no token. Your own
 *   `beforeRedirect` still runs, after this rule.
 * - Axios runs request interceptors in the reverse order of their installation: install
 *   this one after any interceptor that changes where a request goes, so that it sees the
 *   final URL.
 * - A caller's `signal` also aborts the wait for a token: axios then rejects with its own
 *   `CanceledError`, and nothing is sent.
 * - An error's config no longer holds the token, and what leads to Node's requests
 *   (`error.request`, `error.response.request`, the config's `httpAgent` and `httpsAgent`,
 *   which lead to the headers as sent, this call's or another's) is made non-enumerable:
 *   still readable, but logs and `JSON.stringify` of errors show no token. A successful
 *   response is left as axios made it: its `request` is Node's, headers included, as with
 *   a fixed header.
 *
 * @returns a function that removes both interceptors.
 * @throws {TypeError} at once, naming the argument, when `instance`, `tokens` or an option is invalid.
 *
 * @example
 * ```ts
 * const api = axios.create({ baseURL: 'https://api.example.com' })
 * const eject = axiosAuth(api, tokens, { origins: ['https://api.example.com'] })
 * const { data } = await api.get('/orders')
 * ```
 */
export function axiosAuth(instance: AxiosInstance, tokens: AdapterTokens, options: AxiosAuthOptions): () => void {
  argumentChecker('axiosAuth')(
    typeof instance?.interceptors?.request?.use === 'function' && typeof instance.request === 'function',
    'instance',
    'an axios instance (axios.create())',
  );
  const setup = adapterSetup('axiosAuth', tokens, options);
  const sentBy = new WeakMap<object, Sent>();
  const targets = requestTargets(setup.allowed, 'axiosAuth');

  async function authorize(config: InternalAxiosRequestConfig): Promise<InternalAxiosRequestConfig> {
    const href = requestHref(config);
    if (href === undefined) return config;
    let target;
    try {
      target = targets(href);
    } catch (error) {
      // A URL axios cannot parse is axios's to refuse; one with credentials is refused here.
      if ((error as { code?: unknown }).code === 'ERR_INVALID_URL') return config;
      throw error;
    }
    if (!target.carries) return config;
    const { url } = target;
    const signal = config.signal instanceof AbortSignal ? config.signal : undefined;
    let token;
    try {
      token = await setup.getToken(signal);
    } catch (error) {
      // Sent untouched, axios rejects an aborted call with its own CanceledError before it
      // sends anything, as it would without this interceptor.
      if (signal?.aborted) return config;
      throw error;
    }
    const state: Sent = { sent: setup.sentFor(token), url, onFirstOrigin: true, callers: config.beforeRedirect as RedirectHook | undefined };
    config.headers.set('Authorization', state.sent.header);
    sentBy.set(config, state);
    // Bound rather than a closure: one allocation, and nothing to name, per request.
    config.beforeRedirect = followHop.bind(undefined, state) as NonNullable<InternalAxiosRequestConfig['beforeRedirect']>;
    return config;
  }

  /** The retry that a rejection of the token sent with `config` calls for, if one is due. */
  function retryFor(config: InternalAxiosRequestConfig | undefined, response: AxiosResponse | undefined): Promise<AxiosResponse> | undefined {
    const state = config === undefined ? undefined : sentBy.get(config);
    // A second rejection is the caller's, as it is.
    if (config === undefined || state === undefined || response === undefined || (config as unknown as Record<symbol, unknown>)[RETRY] === true) return undefined;
    if (!state.onFirstOrigin || !rejectsToken(responseOf(response), state.sent.token)) return undefined;
    // The copy that was sent: the tokens object may have changed its own since.
    setup.invalidate(state.sent.token);
    if (!isReplayable(config.data)) return undefined;
    // With the caller's own redirect hook: the retry gets one of this rule's of its own.
    return instance.request({ ...config, beforeRedirect: state.callers, [RETRY]: true } as unknown as InternalAxiosRequestConfig);
  }

  /**
   * Keeps the token out of what an error shows: its config no longer holds it, and Node's
   * request and the agents, which lead to the headers as sent (this call's, or another's on
   * the same connection), are made non-enumerable (axios's toJSON() walks the config). Done
   * for errors only: it reshapes objects, which costs a successful request several µs.
   */
  function scrub(error: AxiosError): void {
    hideFields(error, REQUEST);
    hideFields(error.response, REQUEST);
    const { config } = error;
    if (config === undefined) return;
    hideFields(config, AGENTS);
    const state = sentBy.get(config);
    if (state === undefined) return;
    if (config.headers?.get('Authorization') === state.sent.header) config.headers.delete('Authorization');
    // A config sent again (a caller's own retry) gets a redirect rule of its own.
    config.beforeRedirect = state.callers as unknown as NonNullable<InternalAxiosRequestConfig['beforeRedirect']>;
  }

  const requestId = instance.interceptors.request.use(authorize);
  const responseId = instance.interceptors.response.use(
    // A rejection that validateStatus lets through as a response.
    (response) => (response.status >= 400 ? retryFor(response.config, response) : undefined) ?? response,
    (error: unknown) => {
      if (!isAxiosError(error)) throw error;
      const retry = retryFor(error.config, error.response);
      if (retry !== undefined) return retry;
      scrub(error);
      throw error;
    },
  );
  return () => {
    instance.interceptors.request.eject(requestId);
    instance.interceptors.response.eject(responseId);
  };
}

function isAxiosError(error: unknown): error is AxiosError {
  return typeof error === 'object' && error !== null && (error as { isAxiosError?: unknown }).isAxiosError === true;
}

/** What {@link rejectsToken} reads of an axios response. */
function responseOf(response: AxiosResponse) {
  const headers = response.headers as { get?: (name: string) => unknown } | Record<string, unknown>;
  return {
    status: response.status,
    headers: {
      get(name: string): string | null {
        const value = typeof headers.get === 'function' ? (headers.get as (name: string) => unknown)(name) : (headers as Record<string, unknown>)[name];
        return value === undefined || value === null ? null : String(value);
      },
    },
  };
}

/**
 * The redirect rule, for axios's Node adapter (follow-redirects): a hop to another origin
 * than the first, and every hop after it, goes without credentials, and the chain's state
 * tells whether its final response can reject the token.
 */
function followHop(state: Sent, next: { href: string; headers: Record<string, unknown> }, ...rest: unknown[]): void {
  const to = new URL(next.href);
  state.onFirstOrigin = staysOnFirstOrigin(state.onFirstOrigin, state.url, to);
  state.url = to;
  if (!state.onFirstOrigin) dropCredentialHeaders(next.headers);
  state.callers?.(next, ...rest);
}

/** Removes the credential headers from the plain record follow-redirects sends, whatever their case. */
function dropCredentialHeaders(headers: Record<string, unknown>): void {
  for (const name of Object.keys(headers)) {
    if ((CREDENTIAL_HEADERS as readonly string[]).includes(name.toLowerCase())) delete headers[name];
  }
}
