import { isFresh, type Contender } from './contender.js';
import type { Token } from 'rx-token-stream';

/**
 * One shared in-flight promise, the way google-auth-library (`getAccessTokenAsync` with its
 * `refreshTokenPromises`) and smithy's `memoize` do it: an async getter that returns the
 * held token, or joins the one pending refresh.
 */
export const memoized: Contender = {
  name: 'memoized promise',
  create(auth) {
    let token: Token | undefined;
    let pending: Promise<Token> | undefined;
    return {
      async getToken() {
        if (isFresh(token)) return token;
        pending ??= auth().then(
          (fresh) => {
            token = fresh;
            pending = undefined;
            return fresh;
          },
          (error: unknown) => {
            pending = undefined;
            throw error;
          },
        );
        return pending;
      },
      invalidate(rejected) {
        if (token?.value === rejected.value) token = undefined;
      },
      close() {},
    };
  },
};
