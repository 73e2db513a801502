import type { Token } from '../index.js';

/** A token as it is written to Redis. */
export interface StoredForm {
  /** `{"value","expiresAt","type"}`: nothing else the source may have attached. */
  json: string;
  /** How long Redis keeps it: until the token expires. Undefined for a token without expiry. */
  ttlMs: number | undefined;
}

/**
 * The form in which `token` is shared, or undefined for something that is not a live
 * token (the stream rejects it anyway). Only `value`, `expiresAt` and `type` are stored:
 * fields a source attaches (a refresh token, say) never leave the process.
 */
export function storedForm(token: Token, now: number): StoredForm | undefined {
  if (typeof token !== 'object' || token === null) return undefined;
  const { value, expiresAt, type } = token;
  if (typeof value !== 'string' || value.length === 0) return undefined;
  if (type !== undefined && typeof type !== 'string') return undefined;
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt <= now)) {
    return undefined;
  }
  const json = JSON.stringify({ value, ...(expiresAt === undefined ? {} : { expiresAt }), ...(type === undefined ? {} : { type }) });
  return { json, ttlMs: expiresAt === undefined ? undefined : expiresAt - now };
}

/**
 * The token stored under the key, or undefined when there is none or it cannot be read.
 * A parse error is swallowed on purpose: its message would quote the stored text.
 */
export function parseStored(raw: string | null | undefined): Token | undefined {
  if (typeof raw !== 'string') return undefined;
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const { value, expiresAt, type } = data as Record<string, unknown>;
  if (typeof value !== 'string' || value.length === 0) return undefined;
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) return undefined;
  if (type !== undefined && typeof type !== 'string') return undefined;
  return {
    value,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(type === undefined ? {} : { type }),
  };
}
