import { isFresh, type Contender } from './contender.js';
import type { Token } from 'rx-token-stream';

/** A refresh per caller: every caller that finds the token expired calls auth itself. */
export const naive: Contender = {
  name: 'naive',
  create(auth) {
    let token: Token | undefined;
    return {
      async getToken() {
        if (isFresh(token)) return token;
        token = await auth();
        return token;
      },
      invalidate(rejected) {
        if (token?.value === rejected.value) token = undefined;
      },
      close() {},
    };
  },
};
