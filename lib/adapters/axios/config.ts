/** What axiosAuth reads of an axios request config, and hides of what axios hands back. */
import type { InternalAxiosRequestConfig } from 'axios';

const ABSOLUTE = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/**
 * The URL axios will send `config` to: `baseURL` and `url` combined as axios's
 * `buildFullPath` combines them (a relative `url` is appended to `baseURL`, an absolute one
 * replaces it unless `allowAbsoluteUrls` is false), and parsed as its Node adapter parses
 * it, without a base. Done here rather than with `instance.getUri()`, which merges the
 * instance defaults again and costs tens of µs a request.
 * @returns `undefined` when axios would not send to an origin: a URL it cannot parse, or a
 * request over a Unix socket (`socketPath`), which is not where the URL's origin is.
 */
export function requestUrl(config: InternalAxiosRequestConfig): URL | undefined {
  if (config.socketPath !== undefined && config.socketPath !== null) return undefined;
  const { baseURL, url = '', allowAbsoluteUrls } = config;
  const href = baseURL && (!ABSOLUTE.test(url) || allowAbsoluteUrls === false) ? combine(baseURL, url) : url;
  try {
    return new URL(href);
  } catch {
    return undefined;
  }
}

function combine(baseURL: string, relativeURL: string): string {
  if (!relativeURL) return baseURL;
  return `${baseURL.replace(/\/+$/, '')}/${relativeURL.replace(/^\/+/, '')}`;
}
