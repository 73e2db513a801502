/**
 * What the store reads from its table, checked: a row is whatever the table holds, which a
 * DBA, another program or an attacker with write access may have put there. A value that is
 * not what this store writes makes the credential unusable (`get` says there is none); it
 * never reaches a caller, an error message or a log.
 */
import { refreshTokenProblem, storedCredential, type CredentialFailure, type StoredCredential } from '../credential-store.js';
import { tokenProblem, type Token } from '../token.js';

/** The longest `error` or `client` of a stored `refused` failure. */
export const MAX_FAILURE_FIELD = 256;

/**
 * A count (version, fence) as the table returns it, cast to text: a non-negative integer
 * that JavaScript holds exactly, or undefined.
 */
export function countFrom(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(value)) return undefined;
  const count = Number(value);
  return Number.isSafeInteger(count) ? count : undefined;
}

const printable = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_FAILURE_FIELD && /^[\x20-\x7e]+$/.test(value);

/** Why `failure` is not a {@link CredentialFailure} this store writes, or undefined. */
export function failureProblem(failure: unknown): string | undefined {
  if (typeof failure !== 'object' || failure === null) return 'an object with `reason`';
  const { reason, error, client } = failure as Record<string, unknown>;
  if (reason === 'reauth-required') return undefined;
  if (reason !== 'refused') return "`reason` 'reauth-required' or 'refused'";
  if (!printable(error) || !printable(client)) return `\`error\` and \`client\` of printable ASCII (${MAX_FAILURE_FIELD} characters at most)`;
  return undefined;
}

/** The JSON a failure is stored as: its known fields only. */
export function failureJson(failure: CredentialFailure): string {
  return JSON.stringify(failure.reason === 'refused' ? { reason: failure.reason, error: failure.error, client: failure.client } : { reason: failure.reason });
}

/** The JSON an access token is stored as: its token fields only. */
export function accessTokenJson(token: Token): string {
  const { value, expiresAt, type } = token;
  return JSON.stringify({ value, ...(expiresAt === undefined ? {} : { expiresAt }), ...(type === undefined ? {} : { type }) });
}

function parsed(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The credential a row of the `get` statement holds, or undefined when it holds none (no
 * row, a lease-only row) or one that is unusable: a refresh token that breaks its rule (CR,
 * LF, too long, not a string), a version that is not a positive integer, a failure of an
 * unknown shape. A stored access token that is not a token is dropped: it is a cache of what
 * the refresh token can fetch again, and the credential itself stays usable.
 */
export function credentialFrom(row: unknown): StoredCredential | undefined {
  if (typeof row !== 'object' || row === null) return undefined;
  const fields = row as Record<string, unknown>;
  const refreshToken = fields.refresh_token;
  if (refreshTokenProblem(refreshToken) !== undefined) return undefined;
  const version = countFrom(fields.version);
  if (version === undefined || version < 1) return undefined;
  let failure: CredentialFailure | undefined;
  if (fields.failure !== null) {
    const stored = parsed(fields.failure);
    if (failureProblem(stored) !== undefined) return undefined;
    const { reason, error, client } = stored as Record<string, string>;
    failure = reason === 'refused' ? { reason, error: error as string, client: client as string } : { reason: 'reauth-required' };
  }
  let accessToken: Token | undefined;
  const token = fields.access_token === null ? undefined : parsed(fields.access_token);
  // A dead family's access token is revoked with it: never hand it out.
  if (token !== undefined && tokenProblem(token) === undefined && failure?.reason !== 'reauth-required') {
    const { value, expiresAt, type } = token as Token;
    accessToken = { value, ...(expiresAt === undefined ? {} : { expiresAt }), ...(type === undefined ? {} : { type }) };
  }
  return storedCredential({
    refreshToken: refreshToken as string,
    version,
    ...(accessToken === undefined ? {} : { accessToken }),
    ...(failure === undefined ? {} : { failure }),
  });
}
