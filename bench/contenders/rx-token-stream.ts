import { first, lastValueFrom } from 'rxjs';
import { TokenStream } from 'rx-token-stream';
import { clockScheduler, type Contender } from './contender.js';

/** The library, through `getToken()`. */
export const rxGetToken: Contender = {
  name: 'rx-token-stream getToken()',
  create(auth) {
    const tokens = new TokenStream({ source: () => auth(), scheduler: clockScheduler });
    return {
      getToken: () => tokens.getToken(),
      invalidate: (token) => tokens.invalidate(token),
      close: () => tokens.close(),
    };
  },
};

/** The library, through `token$.pipe(first())`: one subscription per caller. */
export const rxTokenFirst: Contender = {
  name: 'rx-token-stream token$.pipe(first())',
  create(auth) {
    const tokens = new TokenStream({ source: () => auth(), scheduler: clockScheduler });
    return {
      getToken: () => lastValueFrom(tokens.token$.pipe(first())),
      invalidate: (token) => tokens.invalidate(token),
      close: () => tokens.close(),
    };
  },
};
