import { catchError, defer, first, map, mergeMap, of, takeWhile, throwError, type Observable, type ObservableInput } from 'rxjs';
import { sentCopy } from './token-header.js';
import type { Token } from '../token.js';
import type { TokenStream } from '../token-stream.js';
import { argumentChecker, optionChecker } from '../options.js';

const check = optionChecker('authorized');
const checkArgument = argumentChecker('authorized');

/** What {@link authorized} needs of a {@link TokenStream}. */
export type AuthorizedTokens = Pick<TokenStream, 'token$' | 'invalidate'>;

/** How {@link authorized} recognises a rejected token. */
export interface AuthorizedOptions {
  /**
   * Whether a value or an error of the request says the token was rejected. It is called
   * with every value and with the error, so that transports which emit a 401 (fetch) and
   * those which error with it (RxJS `ajax`, Angular `HttpClient`) both work. Give your own
   * for other transports, such as gRPC's `UNAUTHENTICATED`.
   * @default an object whose `status` is 401
   */
  isRejected?: (outcome: unknown) => boolean;
}

const REJECTED = Symbol('rejected');

/** The default rejection: any object with `status === 401` (a Response, an AjaxError...). */
export function isUnauthorized(outcome: unknown): boolean {
  return typeof outcome === 'object' && outcome !== null && (outcome as { status?: unknown }).status === 401;
}

/**
 * Runs `request(token)` with the first token of `tokens.token$`. When the outcome is a
 * rejection, it invalidates that exact token (a copy of its value and type taken when it
 * arrived) and runs the request once more with the next one; a second rejection is passed on as it is, so it never loops. Unsubscribing cancels
 * the wait for a token and the request.
 *
 * A function that returns an Observable, rather than an operator: the request depends on
 * the token, not on an upstream value, and this shape drops into whichever flattening
 * operator the caller needs (`mergeMap` for parallel calls, `switchMap` to cancel stale ones).
 *
 * @param request builds the request for a token; values before a rejection are passed on.
 * @returns the request's values; it errors with the request's error, or with a `TokenError`
 * when no token can be had.
 * @throws {TypeError} when `tokens`, `request` or `options.isRejected` is not usable.
 *
 * @example
 * ```ts
 * const order$ = ids$.pipe(
 *   mergeMap((id) => authorized(tokens, (token) => ajax({ url: `/orders/${id}`, headers: { authorization: `Bearer ${token.value}` } }))),
 * )
 * ```
 */
export function authorized<T>(
  tokens: AuthorizedTokens,
  request: (token: Token) => ObservableInput<T>,
  options: AuthorizedOptions = {},
): Observable<T> {
  checkArgument(
    typeof tokens?.invalidate === 'function' && typeof tokens.token$?.subscribe === 'function',
    'tokens',
    'a TokenStream (or anything with token$ and invalidate)',
  );
  checkArgument(typeof request === 'function', 'request', 'a function of a token');
  checkArgument(typeof options === 'object' && options !== null, 'options', 'an object');
  const { isRejected = isUnauthorized } = options;
  check(typeof isRejected === 'function', 'isRejected', 'a function');
  // What was checked is what is used, however late the result is subscribed to.
  const { token$, invalidate } = tokens;

  const attempt = (retried: boolean): Observable<T> =>
    token$.pipe(
      first(),
      mergeMap((token) => {
        // Taken when the token arrives, as the request is handed it: a rejection invalidates
        // this value, even if `tokens` changes its object while the request runs.
        const sent = sentCopy(token);
        const rejects = (outcome: unknown): boolean => !retried && isRejected(outcome);
        return defer(() => request(token)).pipe(
          map((value) => (rejects(value) ? REJECTED : value)),
          catchError((error: unknown) => (rejects(error) ? of(REJECTED) : throwError(() => error))),
          // Stop listening to a request whose token was refused: its later values are moot.
          takeWhile((value) => value !== REJECTED, true),
          mergeMap((value) =>
            value === REJECTED
              ? defer(() => {
                  invalidate.call(tokens, sent);
                  return attempt(true);
                })
              : of(value),
          ),
        );
      }),
    );
  return defer(() => attempt(false));
}
