/** Where an axios request goes, read of its config as axios reads it. */
import type { InternalAxiosRequestConfig } from 'axios';

const ABSOLUTE = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/**
 * The URL axios will send `config` to: `baseURL` and `url` combined as axios's
 * `buildFullPath` combines them (a relative `url` is appended to `baseURL`, an absolute one
 * replaces it unless `allowAbsoluteUrls` is false), to be parsed as its Node adapter parses
 * it, without a base. Done here rather than with `instance.getUri()`, which merges the
 * instance defaults again and costs tens of µs a request.
 * @returns `undefined` for a request over a Unix socket (`socketPath`): that is not where
 * the URL's origin is.
 */
export function requestHref(config: InternalAxiosRequestConfig): string | undefined {
  if (config.socketPath !== undefined && config.socketPath !== null) return undefined;
  const { baseURL, allowAbsoluteUrls } = config;
  // A string of our own: axios takes a URL object too, which its caller may change later.
  const url = String(config.url ?? '');
  return baseURL && (!ABSOLUTE.test(url) || allowAbsoluteUrls === false) ? combine(baseURL, url) : url;
}

function combine(baseURL: string, relativeURL: string): string {
  if (!relativeURL) return baseURL;
  return `${baseURL.replace(/\/+$/, '')}/${relativeURL.replace(/^\/+/, '')}`;
}
