/**
 * How a token travels over HTTP: the Authorization header it goes out in, and the answers
 * that reject it (RFC 6750 section 3).
 */
import { tokenProblem, type Token } from '../token.js';

/** A token as one request sends it: the frozen copy of its value and type, and its header. */
export interface SentToken {
  readonly token: Token;
  readonly header: string;
}

/**
 * The {@link SentToken} of each token a request is given, built and checked once per token
 * value and type rather than once per request. Keyed on the value and type, never on the
 * object: a tokens object may change and return one object.
 * @returns a function that throws what {@link authorization} throws.
 */
export function sentTokens(): (token: Token) => SentToken {
  let last: SentToken | undefined;
  return (token) => {
    if (last === undefined || last.token.value !== token?.value || last.token.type !== token?.type) {
      const sent = sentCopy(token);
      last = { token: sent, header: authorization(sent) };
    }
    return last;
  };
}

/**
 * The token an Authorization value built by {@link authorization} carries, for a client that
 * hands a hook its request but not what was attached to it earlier. The scheme is an HTTP
 * token (no space in it), so the first space ends it; a value may hold inner spaces.
 * @returns `undefined` for a header of another shape.
 */
export function tokenOfHeader(header: string | null | undefined): Token | undefined {
  const space = typeof header === 'string' ? header.indexOf(' ') : -1;
  if (space <= 0) return undefined;
  return Object.freeze({ type: header!.slice(0, space), value: header!.slice(space + 1) });
}

/** What {@link rejectsToken} reads of a response. */
export interface RejectionLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
}

/**
 * A frozen copy of what a request sends of `token`: its value and type. A request reads
 * this copy after its awaits (to build the header, to match a challenge, to invalidate),
 * never the object it got, which a tokens object other than TokenStream may change.
 * Nothing is checked here: {@link authorization} does that.
 */
export function sentCopy(token: Token): Token {
  const value = token?.value;
  const type = token?.type;
  return Object.freeze(type === undefined ? { value } : { value, type });
}

/**
 * The Authorization value for `token`. `Headers.set` would reject a bad value with the value
 * itself in the message, so a token unfit for a header is refused here with one naming none.
 */
export function authorization(token: Token): string {
  const problem = tokenProblem(token);
  if (problem !== undefined) throw new TypeError(`authFetch: ${problem}`);
  return `${token.type ?? 'Bearer'} ${token.value}`;
}

/**
 * Whether `response` rejects `token`: a 401, or an error status with a challenge for its
 * scheme naming `invalid_token`. A success is never a rejection, whatever it carries: the
 * request was served, and a retry would send it twice. Skipping the header read there also
 * keeps it off the path of every successful request.
 */
export function rejectsToken(response: RejectionLike, token: Token): boolean {
  if (response.status === 401) return true;
  if (response.status < 400) return false;
  const challenge = response.headers.get('www-authenticate');
  return challenge !== null && invalidTokenChallenge(token.type ?? 'Bearer').test(challenge);
}

const AUTH_PARAM = String.raw`[!#$%&'*+.^_\x60|~0-9A-Za-z-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s,"]*)`;

// RFC 6750 section 3: the params of one challenge are a comma list of name=value; requiring
// that shape keeps `error=` of another scheme's challenge from matching.
function invalidTokenChallenge(scheme: string): RegExp {
  const name = scheme.replace(/[.*+^$|\\]/g, '\\$&');
  return new RegExp(
    String.raw`(?:^|,)\s*${name}\s+(?:${AUTH_PARAM}\s*,\s*)*error\s*=\s*(?:"invalid_token"|invalid_token(?![^\s,]))`,
    'i',
  );
}
