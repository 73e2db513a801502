/**
 * The failures of `refreshTokenGrant` that are its own, not the token endpoint's: none of
 * them holds a refresh token, an access token or the client secret.
 */
import { OAuthError } from './oauth-error.js';
import { isRetryable } from '../retry.js';
import type { Redactor } from './redact.js';

/** The IdP refused the refresh token (`invalid_grant`) and the store holds no newer one. */
export function reauthRequiredError(): OAuthError {
  return new OAuthError('The refresh token was refused (invalid_grant): the user must authorize again, and store.put the new refresh token', {
    kind: 'reauth-required',
    error: 'invalid_grant',
    retryable: false,
  });
}

/** The store holds no credential for the key (never put, deleted, or unreadable). */
export function noCredentialError(): OAuthError {
  return new OAuthError('No refresh token is stored for this key: store.put one after the user authorizes', {
    kind: 'reauth-required',
    retryable: false,
  });
}

/**
 * The IdP refused these client settings (`invalid_client`...) for this credential before,
 * in this process or another: the request is not sent again until the settings or the
 * credential change.
 */
export function refusedBeforeError(error: string): OAuthError {
  return new OAuthError(`Token endpoint answered ${error} to these client settings before: no request sent until they or the credential change`, {
    kind: 'error-response',
    error,
    retryable: false,
  });
}

/**
 * A step of the credential store failed. The cause is a redacted copy of the store's
 * error (a database error may quote the statement's parameters), never the error itself.
 * Retryable, as the next attempt may find the store back, unless the store said it is not
 * (`retryable: false`: a missing table, a refused permission), which no retry mends.
 */
export function storeError(step: string, failure: unknown, redact: Redactor): Error {
  const copy = redact.error(failure);
  const error = new Error(`Credential store failed to ${step}`, { cause: copy });
  error.name = 'CredentialStoreError';
  return isRetryable(failure) ? error : Object.assign(error, { retryable: false });
}

/** Neither a `TokenStreams` key nor `credentialKey` says whose credential to use. */
export function noKeyError(): TypeError {
  return Object.assign(
    new TypeError('refreshTokenGrant: no credential key: use it as the source of a TokenStreams, or pass `credentialKey`'),
    { retryable: false },
  );
}

/** The lease ran out before an answer: the next holder presents the refresh token instead. */
export function leaseEndedError(leaseMs: number): Error {
  const error = new Error(`The credential lease (${leaseMs} ms) ran out before the token endpoint answered`);
  error.name = 'LeaseEndedError';
  return error;
}
