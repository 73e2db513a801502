import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenVerdict } from './token-service.js';

/** Issues access tokens and checks them: what the demo's token servers share with the partner API. */
export interface TokenSigner {
  /** A new access token for `client`, valid until `expiresAt` (epoch ms). */
  issue(client: string, expiresAt: number): string;
  /** Who a token was issued to and whether it expired; `undefined` when this signer did not issue it. */
  verify(value: string): TokenVerdict | undefined;
}

/**
 * Access tokens as `<base64url payload>.<base64url signature>`, signed with a key made at
 * startup, so that the partner API checks them the way a resource server checks a JWT.
 */
export function tokenSigner(): TokenSigner {
  const key = randomBytes(32);
  const sign = (payload: string): Buffer => createHmac('sha256', key).update(payload).digest();
  return {
    issue(client, expiresAt) {
      const payload = Buffer.from(JSON.stringify({ sub: client, exp: expiresAt, jti: randomBytes(8).toString('hex') })).toString('base64url');
      return `${payload}.${sign(payload).toString('base64url')}`;
    },
    verify(value) {
      const [payload = '', signature = ''] = value.split('.');
      const given = Buffer.from(signature, 'base64url');
      const expected = sign(payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      const { sub, exp } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub: string; exp: number };
      return { client: sub, expired: exp <= Date.now() };
    },
  };
}

/** Whether `given` is `expected`, in a time that does not tell how much of it matched. */
export function sameSecret(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const [a, b] = [Buffer.from(expected), Buffer.from(given)];
  return a.length === b.length && timingSafeEqual(a, b);
}
