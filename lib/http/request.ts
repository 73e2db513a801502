/**
 * The request authFetch sends, prepared from what the caller gave fetch: a URL or a Request,
 * and an init. Prepared once, sent once or twice (a retry), and hop by hop on redirects.
 */
/** How a request treats a redirect, as in `fetch`. */
export type RedirectMode = 'follow' | 'error' | 'manual';

/**
 * Request headers keyed by lowercase name, repeated names joined with ", " as `Headers`
 * joins them. A plain record, not a WHATWG `Headers`: node-fetch turns a `Headers` into its
 * own class by iterating it, which costs more client CPU per request than a record.
 * Copies are made with spread, which defines own properties: a header named `__proto__`
 * stays a header and never reaches the setter of `Object.prototype`.
 */
export type HeaderRecord = Record<string, string>;

/** One request on the wire: what changes from hop to hop of a redirect chain. */
export interface Hop {
  url: URL;
  method: string;
  headers: HeaderRecord;
  body: unknown;
  /** Whether this hop still goes to the origin the request started at (and may carry the token). */
  onFirstOrigin: boolean;
}


/** What authFetch reads of a Request input (node-fetch's or the global one). */
export interface RequestLike {
  url: string;
  method?: string;
  headers?: unknown;
  body?: unknown;
  redirect?: string;
  signal?: AbortSignal;
  follow?: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A request as authFetch sends it: its first hop, and how to treat redirects and retries. */
export interface PreparedRequest {
  first: Hop;
  redirect: RedirectMode;
  follow: number;
  signal: AbortSignal | undefined;
  replayable: boolean;
  /** The rest of the caller's init (node-fetch's `agent`, `compress`, ...), passed on as is. */
  extra: Record<string, unknown> | undefined;
}

/** The init of a call that gave none. */
export const NO_INIT: Record<string, unknown> = Object.freeze({});
// Only ever spread into a new record, never written to.
const NO_HEADERS: HeaderRecord = Object.freeze({});

/** Whether `input` is a Request (anything with a string `url`) rather than a URL. */
export function isRequestLike(input: unknown): input is RequestLike {
  return typeof input === 'object' && input !== null && typeof (input as { url?: unknown }).url === 'string';
}

const REDIRECT_MODES: readonly string[] = ['follow', 'error', 'manual'];
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/**
 * A Request input. Every field is read before the body's bytes are awaited, and nothing of
 * the Request or the init after: the caller may change them as soon as this returns. The
 * body is buffered so that a retry or a 307 can send it again; node-fetch's own options
 * (`agent`, `compress`, ...) are passed on unless the init sets them.
 */
export function fromRequest(request: RequestLike, url: URL, init: Record<string, unknown>): Promise<PreparedRequest> {
  const prepared = withRequestOptions(prepareRequest(request, url, init), request);
  const { body } = request;
  // The init's body wins over the Request's, as in fetch; null counts as none in both.
  if (prepared.first.body !== undefined || body === undefined || body === null) return Promise.resolve(prepared);
  return request.arrayBuffer().then((bytes) => ({ ...prepared, first: { ...prepared.first, body: Buffer.from(bytes) }, replayable: true }));
}

// node-fetch's own options, which a node-fetch Request carries as fields (the global
// Request has none of them): without them, a request would leave without the agent (proxy,
// TLS settings) or limits its caller gave.
const REQUEST_OPTIONS = ['agent', 'compress', 'highWaterMark', 'insecureHTTPParser', 'size'] as const;

/** `prepared`, with the node-fetch options of `request` that its init does not set. */
function withRequestOptions(prepared: PreparedRequest, request: RequestLike): PreparedRequest {
  let extra = prepared.extra;
  for (const name of REQUEST_OPTIONS) {
    const value = (request as unknown as Record<string, unknown>)[name];
    if (value !== undefined && extra?.[name] === undefined) extra = { ...extra, [name]: value };
  }
  return extra === prepared.extra ? prepared : { ...prepared, extra };
}

/**
 * Merges a Request input and init as fetch does (init wins), copying everything it keeps:
 * the result shares no mutable object with the caller but the signal.
 * @throws {TypeError} naming the field when the redirect mode is not one of fetch's, `follow`
 * is not a count, or a header is invalid.
 */
export function prepareRequest(request: RequestLike | undefined, url: URL, init: Record<string, unknown>): PreparedRequest {
  const { method, headers, body, redirect, follow, signal } = init;
  const extra = init === NO_INIT ? undefined : extraOf(init);
  const chosenMethod = String(method ?? request?.method ?? 'GET');
  const mode = String(redirect ?? request?.redirect ?? 'follow');
  if (!REDIRECT_MODES.includes(mode)) throw new TypeError('authFetch: `redirect` must be follow, error or manual');
  const limit = follow === undefined ? (request?.follow ?? 20) : follow;
  // node-fetch v3 compares its redirect count with `follow` as it is, so a negative or NaN
  // limit means "none" or "no end" there: refused here rather than guessed.
  if (!Number.isSafeInteger(limit) || (limit as number) < 0) throw new TypeError('authFetch: `follow` must be a whole number of redirects, 0 or more');
  const payload = copyBody(body);
  return {
    first: {
      url,
      method: NORMALISED_METHODS.has(chosenMethod.toUpperCase()) ? chosenMethod.toUpperCase() : chosenMethod,
      headers: headerRecord(headers ?? request?.headers),
      body: payload,
      onFirstOrigin: true,
    },
    redirect: mode as RedirectMode,
    follow: limit as number,
    signal: (signal ?? request?.signal ?? undefined) as AbortSignal | undefined,
    replayable: isReplayable(payload),
    extra,
  };
}

// HTTP whitespace, which `Headers` strips from both ends of a value.
const VALUE_EDGES = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * The caller's headers as a {@link HeaderRecord}. A plain object is read directly; anything
 * else (`Headers`, node-fetch's `Headers`, pairs) goes through `Headers`, which validates it.
 * The wrapped fetch validates every name and value it sends in any case.
 */
function headerRecord(init: unknown): HeaderRecord {
  if (init === undefined || init === null) return NO_HEADERS;
  const record = Object.create(null) as HeaderRecord;
  const plain = typeof init === 'object' && Object.getPrototypeOf(init) === Object.prototype;
  const entries = plain ? Object.entries(init) : new Headers(init as ConstructorParameters<typeof Headers>[0]);
  for (const [name, raw] of entries) {
    const key = name.toLowerCase();
    const value = String(raw).replace(VALUE_EDGES, '');
    const held = record[key];
    record[key] = held === undefined ? value : `${held}, ${value}`;
  }
  return record;
}

/** What is left of a caller's init once authFetch has taken its own fields, if anything. */
function extraOf(init: Record<string, unknown>): Record<string, unknown> | undefined {
  // A rest copy defines own properties, so a key named __proto__ stays a plain key.
  const { method, headers, body, redirect, follow, signal, ...extra } = init;
  return Object.keys(extra).length === 0 ? undefined : extra;
}

/**
 * A copy of a body the caller could change after the call, so that every attempt and every
 * 307 sends the bytes of the call: bytes into a Buffer of their own, URLSearchParams and
 * FormData into a new one of the same class. Strings, Blobs and Files cannot change; a
 * stream is sent once as it is. `null` becomes `undefined`.
 */
export function copyBody(body: unknown): unknown {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object') return body;
  // By bytes, whatever the element size of a typed array or DataView.
  if (ArrayBuffer.isView(body)) return Buffer.from(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
  const tag = Object.prototype.toString.call(body);
  if (tag === '[object ArrayBuffer]') return Buffer.from(new Uint8Array(body as ArrayBuffer));
  if (tag === '[object URLSearchParams]') return new URLSearchParams(body as URLSearchParams);
  if (tag === '[object FormData]') {
    const form = body as FormData;
    const copy = new (form.constructor as typeof FormData)();
    // A File entry keeps its name: append reads it from the File.
    for (const [name, value] of form) copy.append(name, value);
    return copy;
  }
  return body;
}

/**
 * Whether a request body can be sent a second time, for a retry or a 307/308: none, a string,
 * bytes (Buffer, typed array, DataView, ArrayBuffer), URLSearchParams, FormData or a Blob. A
 * stream or an iterable is read once. authFetch asks it of its copy of the body; a client
 * adapter of the body its client is about to send again.
 */
export function isReplayable(body: unknown): boolean {
  if (body === undefined || body === null || typeof body === 'string' || ArrayBuffer.isView(body)) return true;
  const tag = Object.prototype.toString.call(body);
  return (
    tag === '[object ArrayBuffer]' ||
    tag === '[object URLSearchParams]' ||
    tag === '[object FormData]' ||
    tag === '[object Blob]' ||
    tag === '[object File]'
  );
}
