import { TokenStream, authFetch, type TokenSource } from 'rx-token-stream';
import { requestId, sendJson, serve } from './http.js';
import { epochMs } from './timeline.js';

/** What the reactive service needs. */
export interface ReactiveServiceOptions {
  /** Its name in the logs. */
  name: string;
  /** Where the partner API is. */
  partnerOrigin: string;
  /** Where its tokens come from. */
  source: TokenSource;
  /** Where it tells about each token rotation. */
  log: (line: string) => void;
}

/** The reactive service, running. */
export interface ReactiveService {
  /** `http://127.0.0.1:<port>`; the load hits `GET /data`. */
  origin: string;
  /** How many tokens it has received so far: one per rotation. */
  rotations(): number;
  /** When it received each of them, epoch ms: the new tokens of the demo's timeline. */
  rotationTimes(): number[];
  /**
   * What went wrong on the way, first first, each once: source reports (`redis-fallback:
   * connect ECONNREFUSED ...`) and failed refreshes. A failed run names its cause from these.
   */
  incidents(): string[];
  /** Closes its server and its token stream. */
  close(): Promise<void>;
}

/**
 * The same service as the naive one, on `rx-token-stream`: one `TokenStream` holds the
 * token for every request, and `authFetch` sends it. However many requests find the token
 * expired or rejected at once, the auth server is called once.
 */
export async function startReactiveService(options: ReactiveServiceOptions): Promise<ReactiveService> {
  const { name, partnerOrigin, source, log } = options;
  const tokens = new TokenStream({ source });
  // node-fetch with Authorization added for the partner's origin only; a 401 invalidates
  // the token that was sent and retries once with the next.
  const partnerFetch = authFetch(tokens, { origins: [partnerOrigin] });

  // A Set keeps the first of each, in order: the same outage reported by every refresh is one incident.
  const incidents = new Set<string>();
  let rotations = 0;
  const rotationTimes: number[] = [];
  // What happens to the token, from events$ rather than a token$ subscriber: a live
  // subscriber is demand, and would refresh the token in the background between rounds,
  // where no request needed it. Here a new token comes only for a request.
  const watching = tokens.events$.subscribe((event) => {
    if (event.type === 'refresh-success') {
      rotations += 1;
      rotationTimes.push(epochMs());
      const lifetime = event.expiresAt === undefined ? 'no expiry' : `expires in ${seconds(event.expiresAt - Date.now())}`;
      log(`${name}: token rotation #${rotations}, ${lifetime}`);
    }
    if (event.type === 'refresh-retry') log(`${name}: token refresh attempt ${event.attempt} failed, retrying in ${event.delayMs}ms`);
    if (event.type === 'refresh-failure') {
      const incident = `token refresh failed: ${event.error.code}: ${event.error.message}`;
      // Once: a credential the IdP revoked fails every later refresh, one per request, alike.
      if (!incidents.has(incident)) log(`${name}: token refresh failed: ${event.error.code}`);
      incidents.add(incident);
    }
    // What a source tells about itself, such as redisShared falling back while Redis is down.
    if (event.type === 'source') {
      const { kind, detail } = event.report;
      log(`${name}: ${kind}${detail === undefined ? '' : ` (${detail})`}`);
      incidents.add(detail === undefined ? kind : `${kind}: ${detail}`);
    }
  });

  const server = await serve(async (req, res) => {
    if (req.method !== 'GET' || req.url !== '/data') return sendJson(res, 404, { error: 'not found' });
    const partner = await partnerFetch(`${partnerOrigin}/data`, { headers: requestId(req) });
    if (partner.status !== 200) return sendJson(res, 502, { error: `partner answered ${partner.status}` });
    sendJson(res, 200, await partner.json());
  });

  return {
    origin: server.origin,
    rotations: () => rotations,
    rotationTimes: () => [...rotationTimes],
    incidents: () => [...incidents],
    async close() {
      await server.close();
      tokens.close();
      watching.unsubscribe();
    },
  };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
