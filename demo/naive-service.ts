import fetch from 'node-fetch';
import { requestId, sendJson, serve, type RunningServer } from './http.js';

/** What the naive service needs. */
export interface NaiveServiceOptions {
  /** Where the partner API is. */
  partnerOrigin: string;
  /** Fetches a brand-new token from the auth server. */
  newToken: () => Promise<string>;
}

/**
 * The seed's first version, as it is often written: one global token, and a request
 * that gets a 401 fetches a new token itself and retries.
 *
 * It works while requests come one at a time. When the token expires under parallel
 * requests, every one of them sees the 401 and calls the auth server.
 *
 * `GET /data` relays the partner's data (200), or answers 502.
 */
export async function startNaiveService({ partnerOrigin, newToken }: NaiveServiceOptions): Promise<RunningServer> {
  let token: string | undefined;
  const callPartner = (value: string, forwarded: Record<string, string>) =>
    fetch(`${partnerOrigin}/data`, { headers: { ...forwarded, authorization: `Bearer ${value}` } });

  return serve(async (req, res) => {
    if (req.method !== 'GET' || req.url !== '/data') return sendJson(res, 404, { error: 'not found' });
    const forwarded = requestId(req);
    token ??= await newToken();
    let partner = await callPartner(token, forwarded);
    if (partner.status === 401) {
      const fresh = await newToken();
      token = fresh;
      partner = await callPartner(fresh, forwarded);
    }
    if (partner.status !== 200) return sendJson(res, 502, { error: `partner answered ${partner.status}` });
    sendJson(res, 200, await partner.json());
  });
}
