import axios, { type AxiosInstance } from 'axios';
import { createAuthRefresh, type AxiosAuthRefreshOptions } from 'axios-auth-refresh';
import type { Token } from 'rx-token-stream';
import type { AuthCall } from './contender.js';

/**
 * axios with axios-auth-refresh, set up as its README shows: a request interceptor that
 * adds the stored token, and a refresh callback that stores a new one and puts it on the
 * failed request before the package retries it. `options` go to the package as they are.
 */
export function axiosWithAuthRefresh(baseURL: string, auth: AuthCall, options: AxiosAuthRefreshOptions = {}): AxiosInstance {
  let token: Token | undefined;
  let first: Promise<Token> | undefined;
  const instance = axios.create({ baseURL });
  instance.interceptors.request.use(async (config) => {
    // The first token, before any 401: fetched once, as an app does at start-up.
    token ??= await (first ??= auth());
    config.headers.set('Authorization', `Bearer ${token.value}`);
    return config;
  });
  const refresh = async (failedRequest: { response: { config: { headers: { set(name: string, value: string): void } } } }) => {
    token = await auth();
    failedRequest.response.config.headers.set('Authorization', `Bearer ${token.value}`);
  };
  // The package's types import axios's CommonJS declarations, ours the ESM ones: the same
  // class under two names, so the instance is passed as the type the package declares.
  createAuthRefresh(instance as unknown as Parameters<typeof createAuthRefresh>[0], refresh, options);
  return instance;
}
