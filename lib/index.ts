export { TokenStream } from './token-stream.js';
export type { TokenStreamOptions, GetTokenOptions } from './token-stream.js';
export type { RetryOptions } from './options.js';
export type { Token, TokenSource, TokenSourceContext, RefreshReason, SourceReport } from './token.js';
export { isExpired } from './token.js';
export { TokenError, isTokenError } from './errors.js';
export type { TokenErrorCode, TokenErrorDetails } from './errors.js';
export type {
  TokenEvent,
  RefreshStartEvent,
  RefreshRetryEvent,
  RefreshSuccessEvent,
  RefreshFailureEvent,
  InvalidateIgnoredEvent,
  SourceEvent,
} from './events.js';
export { authFetch } from './auth-fetch.js';
export type { AuthFetchOptions, AuthFetchTokens, FetchFunction, FetchResponseLike } from './auth-fetch.js';
