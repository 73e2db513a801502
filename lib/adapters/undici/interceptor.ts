import type { Dispatcher } from 'undici';
import { carriesToken } from '../../http/origins.js';
import { staysOnFirstOrigin } from '../../http/redirects.js';
import { copyBody, isReplayable } from '../../http/request.js';
import { adapterSetup, type AdapterOptions, type AdapterTokens } from '../options.js';
import { AuthHandler } from './handler.js';

/** How {@link authInterceptor} is set up. Only `origins` is required. */
export type AuthInterceptorOptions = AdapterOptions;

type Headers = NonNullable<Dispatcher.DispatchOptions['headers']> | null;

/** Where a chain of dispatches with one handler (the hops of a redirect interceptor above) stands. */
interface Chain {
  url: URL;
  /** Whether this hop may carry the token: the chain started at an allowed origin and never left it. */
  carries: boolean;
}

/**
 * An undici interceptor that sends `Authorization: <type> <token>` from `tokens` with every
 * request to `options.origins`, and on a rejection of that token (a 401, or a challenge with
 * `error="invalid_token"`) invalidates the token it sent and sends the request once more with
 * the next one, if its body can be sent again. The caller sees one request, and only the
 * second rejection if there is one.
 *
 * - `new Agent().compose(authInterceptor(tokens, { origins }))` works with undici's `request`
 *   and `fetch`, and with Node's own `fetch` given `{ dispatcher }`.
 * - With undici's redirect interceptor, in either order: the token goes only to hops that
 *   stay on the request's first origin, and once a chain has left it, no later hop carries
 *   it, even back on an allowed origin. `fetch` follows redirects itself, above the
 *   dispatcher: each hop reaches this interceptor as a request of its own, and carries the
 *   token when its own origin is allowed.
 * - Requests to other origins go through untouched. To an allowed origin, this token's
 *   Authorization replaces any the caller set, and a URL with credentials is refused.
 * - The headers and a byte body are copied when the request is dispatched. A stream or an
 *   iterable body (every body `fetch` sends is one) is sent once: its rejection reaches the
 *   caller, after the token is invalidated.
 * - The caller's abort (a `signal`, a closed `fetch`) also ends the wait for a token.
 *
 * @throws {TypeError} at once, naming the option, when `tokens` or an option is invalid.
 * The request fails with `TokenError` when no token can be had, and with a TypeError when
 * its URL holds credentials.
 *
 * @example
 * ```ts
 * const agent = new Agent().compose(interceptors.redirect({ maxRedirections: 3 }), authInterceptor(tokens, { origins: ['https://api.example.com'] }))
 * const { statusCode, body } = await request('https://api.example.com/orders', { dispatcher: agent })
 * ```
 */
export function authInterceptor(tokens: AdapterTokens, options: AuthInterceptorOptions): Dispatcher.DispatcherComposeInterceptor {
  const setup = adapterSetup('authInterceptor', tokens, options);
  // A redirect interceptor above this one dispatches each hop of a chain with its one handler.
  const chains = new WeakMap<object, Chain>();
  // Most requests of an agent go to one origin: its parsed URL is kept, not parsed again.
  let lastOrigin: string | undefined;
  let lastUrl: URL | undefined;

  const urlOf = (origin: unknown): URL | undefined => {
    // A URL object is read anew each time: its owner may have changed it since.
    if (typeof origin !== 'string') return origin instanceof URL ? new URL(origin.href) : undefined;
    if (origin !== lastOrigin || lastUrl === undefined) {
      lastUrl = parse(origin);
      lastOrigin = origin;
    }
    return lastUrl;
  };

  return (dispatch) =>
    function authorize(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const url = urlOf(opts.origin);
      if (url === undefined) return dispatch(opts, handler);
      const chain = chains.get(handler);
      const carries =
        chain === undefined ? carriesToken(setup.allowed, url, 'authInterceptor') : staysOnFirstOrigin(chain.carries, chain.url, url);
      chains.set(handler, { url, carries });
      if (!carries) return dispatch(opts, handler);
      const { body } = opts;
      const copy = (copyBody(body) ?? null) as NonNullable<Dispatcher.DispatchOptions['body']> | null;
      const upgrade = opts.upgrade !== undefined && opts.upgrade !== null && opts.upgrade !== false;
      new AuthHandler(
        dispatch,
        {
          opts: { ...opts, body: copy, headers: withoutAuthorization(opts.headers ?? null) },
          origin: url.origin,
          replayable: !upgrade && opts.method !== 'CONNECT' && isReplayable(copy),
          withToken,
        },
        handler,
        setup,
      ).start();
      return true;
    };
}

function parse(origin: string): URL | undefined {
  try {
    return new URL(origin);
  } catch {
    return undefined;
  }
}

const isAuthorization = (name: unknown): boolean =>
  typeof name === 'string' ? name.length === 13 && name.toLowerCase() === 'authorization' : String(name).toLowerCase() === 'authorization';

/**
 * A copy of the caller's headers, in any of the shapes undici takes, without Authorization:
 * a record stays a record (the common case, and the cheapest to extend), anything else
 * becomes a flat `[name, value, ...]` list.
 */
function withoutAuthorization(headers: Headers): Headers {
  if (headers === undefined || headers === null) return null;
  if (Array.isArray(headers) && (headers.length === 0 || !Array.isArray(headers[0]))) {
    const flat: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (!isAuthorization(headers[i])) flat.push(headers[i] as string, headers[i + 1] as string);
    }
    return flat;
  }
  if (Symbol.iterator in Object(headers)) {
    const flat: (string | string[])[] = [];
    for (const [name, value] of headers as Iterable<[string, string | string[] | undefined]>) {
      if (value !== undefined && !isAuthorization(name)) flat.push(name, Array.isArray(value) ? [...value] : value);
    }
    return flat as string[];
  }
  // A record without a prototype: a header named __proto__ stays a header.
  const record = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !isAuthorization(name)) record[name] = Array.isArray(value) ? [...value] : (value as string);
  }
  return record;
}

function withToken(headers: Headers, authorization: string): Headers {
  if (headers === null || headers === undefined) return { authorization };
  if (Array.isArray(headers)) return [...headers, 'authorization', authorization];
  return { ...(headers as Record<string, string | string[]>), authorization };
}
