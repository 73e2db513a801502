/**
 * Where a token may go. Every origin rule of the request helpers lives in this file: the
 * allow-list, what counts as loopback, and which headers a cross-origin hop loses.
 */

/**
 * The request headers that carry credentials. A redirect to another origin drops them, as
 * the Fetch standard does for Authorization. node-fetch drops only some of them, and
 * compares host names but not ports (node-fetch issue 1863), so this is done here.
 */
export const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'] as const;

/**
 * Whether `hostname` (as `URL.hostname` spells it) is the local machine: `localhost`,
 * 127.0.0.0/8, `::1` or an IPv4-mapped 127.0.0.0/8. Plain http to these never leaves the host.
 * The one loopback rule of the library: every entry point that allows plain http asks it.
 *
 * `localhost.` and `*.localhost` are not loopback here, although browsers treat them so:
 * Node resolves them through the system resolver, which on a common glibc setup sends them
 * to DNS, and a DNS answer may name any machine. Nor are `0.0.0.0`, `::`, IPv4-compatible
 * (`::7f00:1`) or NAT64 (`64:ff9b::7f00:1`) addresses: they are not 127/8 by definition,
 * whatever a given kernel makes of them.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]') return true;
  // The URL parser has already turned 127.1, 0x7f.1 and friends into dotted quads.
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  // ...and ::ffff:127.0.0.1 into ::ffff:7f00:1.
  return /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host);
}

/** Whether `a` and `b` share scheme, host and port (default ports included). */
export function isSameOrigin(a: URL, b: URL): boolean {
  return a.origin === b.origin;
}

/**
 * Removes {@link CREDENTIAL_HEADERS} from `headers`, for a hop to another origin.
 * @param headers request headers keyed by lowercase name, as authFetch keeps them.
 */
export function dropCredentials(headers: Record<string, string>): void {
  for (const name of CREDENTIAL_HEADERS) delete headers[name];
}

/**
 * Whether a request to `url` may carry the token: its origin is allowed and it is an http(s)
 * URL (a `blob:` URL has the origin of the URL inside it, yet never reaches that host). Every
 * client adapter and authFetch ask this of the URL their client is about to send to.
 *
 * @param owner the entry named in the error, such as `'authFetch'`.
 * @throws {TypeError} when the URL may carry the token but holds credentials: fetch refuses
 * such a URL too, but with the URL, password included, in its message.
 */
export function carriesToken(allowed: ReadonlySet<string>, url: URL, owner: string): boolean {
  if (!allowed.has(url.origin) || (url.protocol !== 'https:' && url.protocol !== 'http:')) return false;
  if (url.username !== '' || url.password !== '') throw new TypeError(`${owner}: a request URL must not hold credentials`);
  return true;
}

/** A URL a request goes to, parsed, and whether it may carry the token ({@link carriesToken}). */
export interface RequestTarget {
  readonly url: URL;
  /** `url.origin`, which URL computes anew on each read. */
  readonly origin: string;
  readonly carries: boolean;
}

/**
 * {@link carriesToken} for URL strings, keeping the last one: parsing a URL and reading its
 * origin cost several µs of client CPU a request beside real I/O (cold caches), more than
 * the rest of a request helper, and most calls of one client go to the URL of the call
 * before. A string cannot change, and the URL kept is only ever read.
 *
 * @returns a function that parses and checks a URL string; it throws what `new URL` and
 * {@link carriesToken} throw.
 */
export function requestTargets(allowed: ReadonlySet<string>, owner: string): (href: string) => RequestTarget {
  let last: { href: string; target: RequestTarget } | undefined;
  return (href) => {
    if (last?.href !== href) last = { href, target: requestTarget(allowed, new URL(href), owner) };
    return last.target;
  };
}

/** The {@link RequestTarget} of `url`, which the caller must not change afterwards. */
export function requestTarget(allowed: ReadonlySet<string>, url: URL, owner: string): RequestTarget {
  return { url, origin: url.origin, carries: carriesToken(allowed, url, owner) };
}

/**
 * The set of origins that may receive the token, checked once at construction.
 *
 * @param origins origins such as `'https://api.example.com'` (a trailing `/` is allowed).
 * @param allowInsecureHttp whether a plain `http:` origin on a non-loopback host is accepted.
 * @param owner the entry named in the errors, such as `'authFetch'`.
 * @throws {TypeError} naming `origins` or `origins[i]` when the list is empty, an entry is
 * not a bare http(s) origin (a path, query, fragment or credentials would widen or blur
 * what the caller meant), or an entry is plain http to another machine.
 */
export function parseOrigins(origins: unknown, allowInsecureHttp: boolean, owner = 'authFetch'): ReadonlySet<string> {
  if (!Array.isArray(origins) || origins.length === 0) {
    throw new TypeError(`${owner}: option \`origins\` must be a non-empty array of origins`);
  }
  const allowed = new Set<string>();
  origins.forEach((entry: unknown, index) => {
    const name = `origins[${index}]`;
    const url = toUrl(entry);
    // The entry is not echoed: it may hold credentials the caller did not mean to log.
    if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new TypeError(`${owner}: option \`${name}\` must be an http(s) URL string or URL`);
    }
    if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
      throw new TypeError(`${owner}: option \`${name}\` must be a bare origin, without credentials, path, query or fragment`);
    }
    if (url.protocol === 'http:' && !allowInsecureHttp && !isLoopbackHost(url.hostname)) {
      throw new TypeError(
        `${owner}: option \`${name}\` is plain http to a non-loopback host; use https or set allowInsecureHttp`,
      );
    }
    allowed.add(url.origin);
  });
  return allowed;
}

function toUrl(entry: unknown): URL | undefined {
  if (entry instanceof URL) return entry;
  if (typeof entry !== 'string') return undefined;
  try {
    return new URL(entry);
  } catch {
    return undefined;
  }
}
