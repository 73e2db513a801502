import { createPublicKey, verify as verifySignature, type JsonWebKey, type KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import fetch from 'node-fetch';
import {
  OAuth2Issuer,
  OAuth2Service,
  type MutableResponse,
  type MutableToken,
  type TokenRequestIncomingMessage,
} from 'oauth2-mock-server';
import { serve } from './http.js';
import type { AuthServer, TokenServiceOptions, TokenVerdict } from './token-service.js';

/**
 * Starts a real OAuth2 server (oauth2-mock-server) on 127.0.0.1: `POST /token` grants
 * client credentials and signs RS256 JWTs, `GET /jwks` publishes its public keys. Its
 * tokens live `ttlMs` (in `exp` and `expires_in` alike), each answer takes `latencyMs`,
 * and it counts the token responses per client.
 *
 * The partner API checks these tokens as a resource server does: it fetches the JWKS
 * over HTTP once, then verifies each token's signature and `exp` itself.
 */
export async function startOAuth2Server(options: TokenServiceOptions = {}): Promise<AuthServer> {
  const { ttlMs = 2_000, latencyMs = 50, onCall } = options;
  const issuer = new OAuth2Issuer();
  await issuer.keys.generate('RS256');
  const service = new OAuth2Service(issuer);
  const calls = new Map<string, number>();
  let lastExpiresAt = 0;

  // Its defaults are an hour-long token that names no client: give it the demo's lifetime,
  // and the client it was issued to, so the partner API can count rejections per service.
  service.on('beforeTokenSigning', (token: MutableToken, req: TokenRequestIncomingMessage) => {
    const expiresAt = Date.now() + ttlMs;
    lastExpiresAt = Math.max(lastExpiresAt, expiresAt);
    Object.assign(token.payload, { client_id: clientOf(req), exp: expiresAt / 1000 });
  });
  service.on('beforeResponse', (response: MutableResponse, req: TokenRequestIncomingMessage) => {
    const client = clientOf(req);
    calls.set(client, (calls.get(client) ?? 0) + 1);
    onCall?.(client);
    if (response.body !== '') response.body.expires_in = ttlMs / 1000;
  });

  const server = await serve(async (req, res) => {
    if (req.url === '/token') await sleep(latencyMs);
    service.requestHandler(req, res);
  });
  issuer.url = server.origin;
  try {
    const verify = await jwksVerifier(`${server.origin}/jwks`);
    return {
      tokenUrl: `${server.origin}/token`,
      callsBy: (client) => calls.get(client) ?? 0,
      verify,
      lastExpiresAt: () => lastExpiresAt,
      close: server.close,
    };
  } catch (error) {
    await server.close();
    throw error;
  }
}

/** The client a token request came from: HTTP Basic (RFC 6749 2.3.1) or `client_id` in the form. */
function clientOf(req: TokenRequestIncomingMessage): string {
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (basic?.[1] !== undefined) {
    const [id = ''] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
    return decodeURIComponent(id);
  }
  return typeof req.body.client_id === 'string' ? req.body.client_id : 'unknown';
}

/** Fetches a JWKS and returns a check of RS256 JWTs signed with one of its keys. */
async function jwksVerifier(jwksUrl: string): Promise<(value: string) => TokenVerdict | undefined> {
  const response = await fetch(jwksUrl);
  const { keys } = (await response.json()) as { keys: Array<JsonWebKey & { kid: string }> };
  const byKid = new Map<string, KeyObject>(keys.map((jwk) => [jwk.kid, createPublicKey({ key: jwk, format: 'jwk' })]));
  const decode = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

  return (value) => {
    const [header = '', payload = '', signature = ''] = value.split('.');
    try {
      const { alg, kid } = decode(header);
      const key = typeof kid === 'string' ? byKid.get(kid) : undefined;
      // Only the algorithm of its keys: a token may not choose how it is checked ("alg": "none").
      if (alg !== 'RS256' || key === undefined) return undefined;
      if (!verifySignature('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))) return undefined;
      const { client_id: client, exp } = decode(payload);
      if (typeof client !== 'string' || typeof exp !== 'number') return undefined;
      return { client, expired: exp * 1000 <= Date.now() };
    } catch {
      return undefined;
    }
  };
}
