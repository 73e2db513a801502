import { sendJson, serve } from './http.js';
import { REQUEST_ID } from './timeline.js';
import type { TokenVerdict } from './token-service.js';

/** The third-party API both services call: it wants an unexpired token, or it answers 401. */
export interface PartnerApi {
  /** `http://127.0.0.1:<port>`; the data is at `GET /data`. */
  origin: string;
  /** How many requests it answered 200 for `client`. */
  servedTo(client: string): number;
  /** How many requests it answered 401 for `client` (the client named in the rejected token). */
  rejectedFor(client: string): number;
  close(): Promise<void>;
}

/**
 * Checks a token and says who it belongs to; `undefined` for a token it does not know.
 * May be async, for a verifier that fetches keys.
 */
export type VerifyToken = (value: string) => TokenVerdict | undefined | Promise<TokenVerdict | undefined>;

/**
 * Told of each answer: the client named in the token (`unknown` for a token it does not
 * know), the status, and the request's `x-request-id` if it has one.
 */
export type OnAnswer = (client: string, status: 200 | 401, requestId: string | undefined) => void;

/** Starts the partner API, trusting the tokens that `verify` accepts. */
export async function startPartnerApi(verify: VerifyToken, onAnswer?: OnAnswer): Promise<PartnerApi> {
  const served = new Map<string, number>();
  const rejected = new Map<string, number>();
  const bump = (counts: Map<string, number>, client: string): void => {
    counts.set(client, (counts.get(client) ?? 0) + 1);
  };

  const server = await serve(async (req, res) => {
    if (req.method !== 'GET' || req.url !== '/data') return sendJson(res, 404, { error: 'not found' });
    const [scheme, value] = (req.headers.authorization ?? '').split(' ');
    const verdict = scheme === 'Bearer' && value ? await verify(value) : undefined;
    const requestId = req.headers[REQUEST_ID];
    const id = typeof requestId === 'string' ? requestId : undefined;
    if (verdict === undefined || verdict.expired) {
      bump(rejected, verdict?.client ?? 'unknown');
      onAnswer?.(verdict?.client ?? 'unknown', 401, id);
      return sendJson(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    bump(served, verdict.client);
    onAnswer?.(verdict.client, 200, id);
    sendJson(res, 200, { data: 'the partner data', client: verdict.client });
  });

  return {
    origin: server.origin,
    servedTo: (client) => served.get(client) ?? 0,
    rejectedFor: (client) => rejected.get(client) ?? 0,
    close: server.close,
  };
}
