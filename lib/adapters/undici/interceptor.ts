import type { Dispatcher } from 'undici';
import { requestTargets, type RequestTarget } from '../../http/origins.js';
import { staysOnFirstOrigin } from '../../http/redirects.js';
import { copyBody, isReplayable } from '../../http/request.js';
import { adapterSetup, type AdapterOptions, type AdapterTokens } from '../options.js';
import { AuthHandler } from './handler.js';
import { legacyHandlerOf } from './legacy.js';

type Headers = NonNullable<Dispatcher.DispatchOptions['headers']> | null;

/** How {@link authInterceptor} is set up. Only `origins` is required. */
export type AuthInterceptorOptions = AdapterOptions;

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
  // The chains that undici's redirect interceptor, composed above this one, follows: it
  // dispatches every hop of a chain with its one RedirectHandler.
  const chains = new WeakMap<object, Chain>();
  const targets = requestTargets(setup.allowed, 'authInterceptor');
  const targetOf = (origin: unknown): RequestTarget | undefined => {
    // A URL object is read anew each time: its owner may have changed it since.
    const href = origin instanceof URL ? origin.href : origin;
    if (typeof href !== 'string') return undefined;
    try {
      return targets(href);
    } catch (error) {
      // One undici cannot parse is undici's to refuse; a URL with credentials is refused here.
      if ((error as { code?: unknown }).code === 'ERR_INVALID_URL') return undefined;
      throw error;
    }
  };

  return (dispatch) =>
    function authorize(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const target = targetOf(opts.origin);
      if (target === undefined) return dispatch(opts, handler);
      let { carries } = target;
      // A WeakMap entry for every request would cost more than the rest of this function:
      // only a redirect follower (it keeps the chain's `history`) dispatches a handler again.
      if (Array.isArray((handler as { history?: unknown }).history)) {
        const chain = chains.get(handler);
        if (chain !== undefined) carries = staysOnFirstOrigin(chain.carries, chain.url, target.url);
        chains.set(handler, { url: target.url, carries });
      }
      if (!carries) return dispatch(opts, handler);
      const body = (copyBody(opts.body) ?? null) as NonNullable<Dispatcher.DispatchOptions['body']> | null;
      const upgrade = opts.upgrade !== undefined && opts.upgrade !== null && opts.upgrade !== false;
      new AuthHandler(
        dispatch,
        {
          // The caller's options, copied now: what it changes later is not sent. The origin
          // as URL.origin spells it, as a redirect interceptor below compares it with each
          // Location's origin, as strings, and drops the token on a mismatch.
          opts: copyOptions(opts, target.origin, body),
          origin: target.origin,
          replayable: !upgrade && opts.method !== 'CONNECT' && isReplayable(body),
          setToken,
        },
        legacyHandlerOf(handler),
        setup,
      ).start();
      return true;
    };
}

/**
 * The caller's options, copied now, with `origin`, `body` and `headers` of this request's own.
 * Object.assign, not a spread: spreading undici's options costs V8 about 2 µs a request, more
 * than the rest of the interceptor. A spread for the one object it would read wrongly: an own
 * `__proto__` key, which Object.assign would take for the copy's prototype.
 */
function copyOptions(opts: Dispatcher.DispatchOptions, origin: string, body: NonNullable<Dispatcher.DispatchOptions['body']> | null): Dispatcher.DispatchOptions {
  const copy: Dispatcher.DispatchOptions = Object.hasOwn(opts, '__proto__') ? { ...opts } : Object.assign({}, opts);
  copy.origin = origin;
  copy.body = body;
  copy.headers = headersWithToken(opts.headers ?? null);
  return copy;
}

const isAuthorization = (name: unknown): boolean =>
  typeof name === 'string' ? name.length === 13 && name.toLowerCase() === 'authorization' : String(name).toLowerCase() === 'authorization';

/**
 * A copy of the caller's headers, in any of the shapes undici takes, without its
 * Authorization and with a place for the token's, which {@link setToken} fills: a record stays
 * a record (the common case, and the cheapest), anything else becomes a flat
 * `[name, value, ...]` list that ends with the Authorization pair.
 */
function headersWithToken(headers: Headers): Headers {
  if (headers === null) return { authorization: '' };
  if (Array.isArray(headers) && (headers.length === 0 || !Array.isArray(headers[0]))) {
    const flat: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (!isAuthorization(headers[i])) flat.push(headers[i] as string, headers[i + 1] as string);
    }
    flat.push('authorization', '');
    return flat;
  }
  if (Symbol.iterator in Object(headers)) {
    const flat: (string | string[])[] = [];
    for (const [name, value] of headers as Iterable<[string, string | string[] | undefined]>) {
      if (value !== undefined && !isAuthorization(name)) flat.push(name, Array.isArray(value) ? [...value] : value);
    }
    flat.push('authorization', '');
    return flat as string[];
  }
  const record: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isAuthorization(name)) continue;
    // Defined, not assigned: a header named __proto__ stays a header.
    if (name === '__proto__') Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
    else record[name] = Array.isArray(value) ? [...value] : value;
  }
  record.authorization = '';
  return record;
}

/** Puts `authorization` in the place {@link headersWithToken} made for it. */
function setToken(headers: Headers, authorization: string): void {
  if (Array.isArray(headers)) headers[headers.length - 1] = authorization;
  else (headers as Record<string, string>).authorization = authorization;
}
