import { EventEmitter } from 'node:events';
import { isFresh, type Contender } from './contender.js';
import type { Token } from 'rx-token-stream';

/**
 * The seed story's pattern: an `isRefreshing` flag, and an EventEmitter whose `done`
 * event releases the callers that found a refresh running (`once`, as its update says).
 */
export const seedPattern: Contender = {
  name: 'seed pattern',
  create(auth) {
    let token: Token | undefined;
    let isRefreshing = false;
    const emitter = new EventEmitter();
    // The seed leaves the default of 10 listeners, which only prints a warning past 10
    // waiters; lifting it keeps the bench output clean without changing the behaviour.
    emitter.setMaxListeners(0);
    return {
      async getToken() {
        if (isFresh(token)) return token;
        if (isRefreshing) {
          return new Promise<Token>((resolve, reject) => {
            emitter.once('done', (error: unknown, fresh?: Token) => (fresh === undefined ? reject(error) : resolve(fresh)));
          });
        }
        isRefreshing = true;
        try {
          token = await auth();
          isRefreshing = false;
          emitter.emit('done', null, token);
          return token;
        } catch (error) {
          isRefreshing = false;
          emitter.emit('done', error);
          throw error;
        }
      },
      invalidate(rejected) {
        if (token?.value === rejected.value) token = undefined;
      },
      close() {
        emitter.removeAllListeners();
      },
    };
  },
};
