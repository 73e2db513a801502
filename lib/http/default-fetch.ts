/**
 * node-fetch v3, the default transport of authFetch and the OAuth2 sources, loaded on the
 * first request that uses it: a caller that passes its own `fetch` (the global one, undici)
 * never loads it, and importing the package costs nothing for it.
 */
import type nodeFetch from 'node-fetch';

type NodeFetch = typeof nodeFetch;

let loaded: NodeFetch | undefined;
let loading: Promise<NodeFetch> | undefined;

/** Calls node-fetch, loading it first if no request has yet. */
export const defaultFetch: NodeFetch = (input, init) => {
  if (loaded !== undefined) return loaded(input, init);
  loading ??= import('node-fetch').then((module) => (loaded = module.default));
  return loading.then((fetch) => {
    // node-fetch v3 given a signal that has already aborted destroys the request's body
    // stream with an error nobody listens to, which ends the process: refuse it here.
    (init?.signal as globalThis.AbortSignal | null | undefined)?.throwIfAborted();
    return fetch(input, init);
  });
};
