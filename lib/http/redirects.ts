import { dropCredentials, isSameOrigin } from './origins.js';
import type { HeaderRecord, Hop } from './request.js';


const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// Fetch's "request-body-header names": they describe a body that a method change drops.
const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type', 'content-length'];

/** Whether `status` is one that `fetch` follows when there is a Location. */
export function isRedirectStatus(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

/**
 * Whether a redirect chain that was still on its first origin (`onFirstOrigin`) stays there
 * with the hop from `from` to `to`. Once a chain has left its first origin it never is again,
 * so a foreign server cannot steer an authorized request to a path of its choosing: only
 * hops for which this holds may carry credentials.
 */
export function staysOnFirstOrigin(onFirstOrigin: boolean, from: URL, to: URL): boolean {
  return onFirstOrigin && isSameOrigin(from, to);
}

/**
 * The hop that follows a redirect, by the Fetch standard's "HTTP-redirect fetch": 303, and
 * 301/302 after a POST, become a GET without body; 307/308 resend the method and body, which
 * needs a body that can be sent again. A hop to another origin loses the credential headers,
 * and once the chain has left its first origin it never gets them back
 * ({@link staysOnFirstOrigin}).
 *
 * @param location the Location header, resolved against the current URL.
 * @param replayable whether the request body can be sent a second time.
 * @throws {TypeError} when Location is not an http(s) URL or holds credentials, or a 307/308
 * would need to resend a streamed body. Messages name no URL: query strings may hold secrets of the caller.
 */
export function nextHop(current: Hop, status: number, location: string, replayable: boolean): Hop {
  let url: URL;
  try {
    url = new URL(location, current.url);
  } catch {
    throw new TypeError('authFetch: the redirect Location is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('authFetch: a redirect may only lead to an http(s) URL');
  }
  // As fetch refuses a request URL with credentials: never sent, whoever put them there.
  if (url.username !== '' || url.password !== '') throw new TypeError('authFetch: a redirect Location must not hold credentials');
  const headers: HeaderRecord = { ...current.headers };
  let { method, body } = current;
  if ((status === 303 && method !== 'GET' && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET';
    body = undefined;
    for (const name of BODY_HEADERS) delete headers[name];
  } else if (body !== undefined && body !== null && !replayable) {
    throw new TypeError('authFetch: cannot follow a 307/308 redirect with a streamed body');
  }
  const onFirstOrigin = staysOnFirstOrigin(current.onFirstOrigin, current.url, url);
  if (!onFirstOrigin) dropCredentials(headers);
  return { url, method, headers, body, onFirstOrigin };
}
