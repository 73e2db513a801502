/**
 * What every client adapter (undici, axios, ky, got) is given and checks in one way: the
 * tokens, the origins that may receive them, and whether plain http may.
 */
import { argumentChecker, checkOptionsObject, optionChecker } from '../options.js';
import { parseOrigins } from '../http/origins.js';
import { sentTokens, type SentToken } from '../http/token-header.js';
import type { Token } from '../token.js';
import { freshToken, TokenStream } from '../token-stream.js';

/**
 * What an adapter needs of its tokens: a {@link TokenStream}, a `TokenStreams` handle
 * (`streams.for(key)`), or anything else with `getToken` and `invalidate`.
 */
export type AdapterTokens = Pick<TokenStream, 'getToken' | 'invalidate'>;

/** How a client adapter is set up. Only `origins` is required. */
export interface AdapterOptions {
  /**
   * The origins (scheme, host and port, such as `'https://api.example.com'`) that may
   * receive the token. Requests anywhere else go out untouched, without a token. Plain
   * `http:` is refused unless the host is loopback or `allowInsecureHttp` is set.
   * Required: there is no default.
   */
  origins: readonly (string | URL)[];
  /**
   * Accepts plain `http:` origins on hosts other than loopback, which sends the token
   * in clear text. For a trusted private network only.
   * @default false
   */
  allowInsecureHttp?: boolean;
}

/** An adapter's checked setup. */
export interface AdapterSetup {
  /** The origins that may receive the token, as `URL.origin` spells them. */
  readonly allowed: ReadonlySet<string>;
  /**
   * The token `getToken` would resolve with at once, when `tokens` can tell without a
   * promise (a TokenStream), else `undefined`: then ask `getToken`.
   */
  readonly freshToken: () => Token | undefined;
  /** Asks `tokens` for a token: `getToken`, bound to the tokens object it was checked on. */
  readonly getToken: (signal?: AbortSignal | null) => Promise<Token>;
  /** Reports a rejected token: `invalidate`, bound likewise. */
  readonly invalidate: (token: Token) => void;
  /** The copy and the header of each token, checked once per token. */
  readonly sentFor: (token: Token) => SentToken;
}

/**
 * Checks an adapter's arguments once, at construction, with TypeErrors naming `owner` and
 * the option, and reads them once: what was checked is what is used.
 */
export function adapterSetup(owner: string, tokens: AdapterTokens, options: AdapterOptions): AdapterSetup {
  const checkArgument = argumentChecker(owner);
  const check = optionChecker(owner);
  checkArgument(
    typeof tokens?.getToken === 'function' && typeof tokens.invalidate === 'function',
    'tokens',
    'a TokenStream, a TokenStreams handle or anything with getToken and invalidate',
  );
  checkOptionsObject(check, options, 'origins');
  const { origins, allowInsecureHttp = false } = options;
  check(typeof allowInsecureHttp === 'boolean', 'allowInsecureHttp', 'a boolean');
  const allowed = parseOrigins(origins, allowInsecureHttp, owner);
  const { getToken, invalidate } = tokens;
  // Only a TokenStream whose getToken is TokenStream's own: a subclass that overrides it (to
  // log, to count) is asked through it, every time.
  const fresh = tokens instanceof TokenStream && getToken === TokenStream.prototype.getToken ? tokens[freshToken] : undefined;
  return {
    allowed,
    freshToken: fresh === undefined ? () => undefined : () => fresh.call(tokens as TokenStream),
    getToken: (signal) => getToken.call(tokens, signal ? { signal } : undefined),
    invalidate: (token) => invalidate.call(tokens, token),
    sentFor: sentTokens(),
  };
}
