import fetch from 'node-fetch';
import { memoryCredentialStore, refreshTokenGrant, type CredentialStore } from 'rx-token-stream';
import { redisCredentialStore } from 'rx-token-stream/redis';
import { requestId, sendJson, serve, type RunningServer } from './http.js';
import { startReactiveService } from './reactive-service.js';
import { presentRefreshToken, type RefreshedTokens } from './rotating-token-server.js';
import { closeServices, type RunningService, type ServiceName } from './services.js';

/**
 * What the services of `--grant refresh_token` need; plain data, so that a forked process
 * gets it too (over IPC, never on its command line: it holds refresh tokens and secrets).
 */
export interface RefreshServicesPlan {
  grant: 'refresh_token';
  tokenUrl: string;
  partnerOrigin: string;
  /** Each service's client secret at the token server, by service name (its client id). */
  secrets: Partial<Record<ServiceName, string>>;
  /**
   * The first refresh token of the naive family and of the reactive one, as the token server
   * minted them: every process starts from the same, as a config file would give it.
   */
  refreshTokens: { naive: string; reactive: string };
  /**
   * The reactive service's name: `reactive` in one process; `per-process` in several, where
   * each keeps its refresh token in a store of its own.
   */
  reactiveName: 'reactive' | 'per-process';
  /** Where `fleet` keeps its credential, which the demo put there. Without it, there is no `fleet`. */
  redis?: { url: string; keyPrefix: string; key: string };
}

/** The credential key of the reactive service's own store: whose refresh token it is. */
const CREDENTIAL_KEY = 'user-42';

/**
 * Starts the services of one process for `--grant refresh_token`: the one place where
 * their token sources are built. The demo calls it in its own process, and each worker
 * calls it with `--processes`.
 * - `naive` holds the refresh token it was last given, and presents it from every request
 *   that finds its access token missing or rejected;
 * - `reactive` (or `per-process`) is a `TokenStream` on `refreshTokenGrant`, with its
 *   refresh token in a `memoryCredentialStore()` of its process;
 * - `fleet` is the same on a `redisCredentialStore()` that every process shares.
 */
export async function startRefreshServices(plan: RefreshServicesPlan, log: (line: string) => void): Promise<RunningService[]> {
  const { tokenUrl, partnerOrigin, secrets, refreshTokens, reactiveName, redis } = plan;
  const clientSecret = (name: ServiceName): string => secrets[name] ?? '';
  const running: RunningService[] = [];
  try {
    const naive = await startNaiveRefreshService({
      partnerOrigin,
      refreshToken: refreshTokens.naive,
      refresh: (refreshToken) => presentRefreshToken(tokenUrl, { id: 'naive', secret: clientSecret('naive') }, refreshToken),
    });
    running.push({ name: 'naive', ...naive });

    // The user's consent gave this refresh token: it starts the family in the store.
    const ownStore = memoryCredentialStore();
    await ownStore.put(CREDENTIAL_KEY, { refreshToken: refreshTokens.reactive });
    running.push(await startGrantService(reactiveName, ownStore, CREDENTIAL_KEY));

    if (redis !== undefined) {
      // The same service on a store that every process shares: the demo put the family's
      // first refresh token there, and each rotation leaves the next one for all.
      const shared = redisCredentialStore({ redis: redis.url, keyPrefix: redis.keyPrefix });
      const fleet = await startGrantService('fleet', shared, redis.key).catch(async (error: unknown) => {
        await shared.close();
        throw error;
      });
      running.push({ ...fleet, name: 'fleet', close: () => fleet.close().then(() => shared.close()) });
    }
    return running;
  } catch (error) {
    await closeServices(running);
    throw error;
  }

  async function startGrantService(name: ServiceName, store: CredentialStore, credentialKey: string): Promise<RunningService> {
    // One grant request per rotation, whatever the number of requests (and, on a shared
    // store, of processes): each refresh token is presented once.
    const source = refreshTokenGrant({ tokenUrl, clientId: name, clientSecret: clientSecret(name), store, credentialKey });
    return { name, ...(await startReactiveService({ name, partnerOrigin, source, log })) };
  }
}

/** What the naive refresh service needs. */
export interface NaiveRefreshServiceOptions {
  /** Where the partner API is. */
  partnerOrigin: string;
  /** The refresh token it starts with. */
  refreshToken: string;
  /** Presents a refresh token to the token server. */
  refresh: (refreshToken: string) => Promise<RefreshedTokens>;
}

/**
 * Refresh tokens as they are often handled: the service keeps the access token and the
 * refresh token it was last given. A request without an access token, or whose access
 * token gets a 401, presents the refresh token and keeps what comes back.
 *
 * It works while requests come one at a time. When the access token expires under parallel
 * requests (or in two processes that started from the same refresh token), several present
 * the same refresh token: the server takes the second use as theft and revokes the family,
 * and every request after that fails.
 *
 * `GET /data` relays the partner's data (200), or answers 502 (500 once a refresh failed).
 */
export async function startNaiveRefreshService(options: NaiveRefreshServiceOptions): Promise<RunningServer> {
  const { partnerOrigin, refresh } = options;
  let refreshToken = options.refreshToken;
  let accessToken: string | undefined;
  const renew = async (): Promise<string> => {
    ({ accessToken, refreshToken } = await refresh(refreshToken));
    return accessToken;
  };
  const callPartner = (value: string, forwarded: Record<string, string>) =>
    fetch(`${partnerOrigin}/data`, { headers: { ...forwarded, authorization: `Bearer ${value}` } });

  return serve(async (req, res) => {
    if (req.method !== 'GET' || req.url !== '/data') return sendJson(res, 404, { error: 'not found' });
    const forwarded = requestId(req);
    let partner = await callPartner(accessToken ?? (await renew()), forwarded);
    if (partner.status === 401) partner = await callPartner(await renew(), forwarded);
    if (partner.status !== 200) return sendJson(res, 502, { error: `partner answered ${partner.status}` });
    sendJson(res, 200, await partner.json());
  });
}
