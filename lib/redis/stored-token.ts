import { checkToken, tokenProblem, type Token } from '../token.js';

/**
 * The largest stored value that is read or written, in bytes. A token is sent in a header,
 * and servers refuse headers far smaller than this (Node's limit is 16 KiB): anything larger
 * under the key is not a token, and is never carried over the network on each poll.
 */
export const MAX_STORED_BYTES = 64 * 1024;

// The expiry margin (see expiryMargin): a tenth of the lifetime, within these bounds.
const MARGIN_FLOOR_MS = 10;
const MARGIN_CAP_MS = 5_000;

/** A token as it is written to Redis. */
export interface StoredForm {
  /** `{"value","expiresAt","type","issuedAt"}`: nothing else the source may have attached. */
  json: string;
  /** How long Redis keeps it: until the token expires. Undefined for a token without expiry. */
  ttlMs: number | undefined;
}

/** A token read from Redis, with the time until which it may be handed out. */
export interface StoredToken {
  token: Token;
  /** Scheduler time from which the token counts as absent: its expiry, less a margin. */
  servedUntil: number;
}

/**
 * The form in which `token` is shared, or undefined for anything the stream would refuse
 * (see `tokenProblem`) or that is too large to share. Only `value`, `expiresAt` and `type`
 * are stored, with `issuedAt` (`now`) so that readers know the token's lifetime: fields a
 * source attaches (a refresh token, say) never leave the process.
 */
export function storedForm(token: Token, now: number): StoredForm | undefined {
  if (tokenProblem(token, now) !== undefined) return undefined;
  const { value, expiresAt, type } = token;
  const json = JSON.stringify({
    value,
    ...(expiresAt === undefined ? {} : { expiresAt, issuedAt: now }),
    ...(type === undefined ? {} : { type }),
  });
  if (Buffer.byteLength(json) > MAX_STORED_BYTES) return undefined;
  return { json, ttlMs: expiresAt === undefined ? undefined : expiresAt - now };
}

/**
 * The token stored under the key, or undefined when there is none, or when what is there
 * is not a token the stream would accept at `now` (anyone may write to Redis). A parse
 * error is swallowed on purpose: its message would quote the stored text.
 */
export function parseStored(raw: unknown, now: number): StoredToken | undefined {
  if (typeof raw !== 'string' || raw.length > MAX_STORED_BYTES) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (tokenProblem(data, now) !== undefined) return undefined;
  const token = checkToken(data, now);
  if (token.expiresAt === undefined) return { token, servedUntil: Infinity };
  const { issuedAt } = data as { issuedAt?: unknown };
  return { token, servedUntil: token.expiresAt - expiryMargin(token.expiresAt, issuedAt) };
}

/**
 * How long before its expiry a stored token stops being handed out.
 *
 * A token read here is checked again by the stream a moment later, and used by the API
 * later still: one that expires in between would fail a demand, so a token that is about
 * to expire counts as absent, and the source is called instead. The margin is a tenth of
 * the token's lifetime, at least 10 ms and at most 5 s, and never more than half the
 * lifetime: hour-long tokens are replaced 5 s early, 200 ms tokens 20 ms early, and a
 * token is shared for most of its life whatever its length. When `issuedAt` is missing or
 * cannot be true (a value written by an older version, or by anyone else), the lifetime is
 * unknown and the margin is the largest one: the next write stores a good `issuedAt`.
 */
function expiryMargin(expiresAt: number, issuedAt: unknown): number {
  if (typeof issuedAt !== 'number' || !Number.isFinite(issuedAt) || issuedAt >= expiresAt) return MARGIN_CAP_MS;
  const lifetime = expiresAt - issuedAt;
  return Math.min(lifetime / 2, Math.max(MARGIN_FLOOR_MS, Math.min(MARGIN_CAP_MS, lifetime / 10)));
}
