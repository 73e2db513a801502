export { TokenStream } from './token-stream.js';
export type { TokenStreamOptions, GetTokenOptions } from './token-stream.js';
export type { RetryOptions } from './retry.js';
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
  StreamClosedEvent,
} from './events.js';
export { authFetch } from './http/auth-fetch.js';
export type { AuthFetchOptions, AuthFetchTokens, FetchFunction, FetchResponseLike } from './http/auth-fetch.js';
export { clientCredentials } from './oauth2/client-credentials.js';
export type { ClientCredentialsOptions } from './oauth2/client-credentials.js';
export { OAuthError } from './oauth2/oauth-error.js';
export type { OAuthErrorKind, OAuthErrorDetails } from './oauth2/oauth-error.js';
export { MAX_EXPIRES_IN_SECONDS } from './oauth2/token-response.js';
export type { TokenFetch, TokenRequestInit, TokenResponseLike } from './oauth2/web-fetch.js';
export { authorized } from './http/authorized.js';
export type { AuthorizedOptions, AuthorizedTokens } from './http/authorized.js';
export { TokenStreams } from './token-streams.js';
export type { TokenStreamsOptions, TokenStreamHandle, KeyedTokenEvent } from './token-streams.js';
export { memoryCredentialStore } from './memory-credential-store.js';
export type { MemoryCredentialStoreOptions } from './memory-credential-store.js';
export type { CredentialStore, StoredCredential, RotatedCredential, CredentialExpectation, CredentialFailure } from './credential-store.js';
export { refreshTokenGrant } from './oauth2/refresh-token-grant.js';
export type { RefreshTokenGrantOptions } from './oauth2/refresh-token-grant.js';
export type { TokenEndpointOptions } from './oauth2/token-endpoint.js';
