import { randomUUID } from 'node:crypto';
import { clientCredentials, type TokenSource } from 'rx-token-stream';
import { redisShared } from 'rx-token-stream/redis';
import { startNaiveService } from './naive-service.js';
import { startReactiveService } from './reactive-service.js';
import { requestToken } from './token-service.js';

/** Which auth server the demo runs: its own token service, or a real OAuth2 server. */
export type AuthKind = 'demo' | 'oauth2';

/**
 * The services in front of the partner API. Each uses its name as its OAuth2 client id,
 * which is how the auth server counts its calls and the partner API its 401s.
 * - `naive`: one global token, a new one for every request that gets a 401;
 * - `reactive`: a `TokenStream`, so one auth call per rotation (per process);
 * - `fleet`: a `TokenStream` on `redisShared`, so one auth call per rotation for all processes.
 * - `per-process`: with `--grant refresh_token --processes`, the reactive service, whose
 *   processes each keep their refresh token in a store of their own (refresh-services.ts).
 */
export type ServiceName = 'naive' | 'reactive' | 'fleet' | 'per-process';

/** What the services need to know; plain data, so that a forked process can get it too. */
export interface ServicesPlan {
  auth: AuthKind;
  tokenUrl: string;
  partnerOrigin: string;
  /** Where `fleet` shares its token. Without it, there is no `fleet` service. */
  redis?: { url: string; key: string };
}

/** One service, listening. */
export interface RunningService {
  name: ServiceName;
  /** `http://127.0.0.1:<port>`; the load hits `GET /data`. */
  origin: string;
  /** Tokens its `TokenStream` received; absent for the naive service. Complete once closed. */
  rotations?: () => number;
  /** When its `TokenStream` received each token, epoch ms; absent for the naive service. */
  rotationTimes?: () => number[];
  /** What went wrong for its `TokenStream` (see ReactiveService); absent for the naive service. */
  incidents?: () => string[];
  close(): Promise<void>;
}

/** A fresh Redis key for one demo run, so that two runs never share a token. */
export const fleetKey = (): string => `rx-token-stream-demo:${randomUUID()}`;

// The OAuth2 server of the demo checks no secret; a real one would, and it would come
// from the environment, never from the code.
const CLIENT_SECRET = 'demo-secret';

/**
 * Starts the services of one process: the one place where token sources are built.
 * The demo calls it in its own process, and each worker calls it with `--processes`.
 */
export async function startServices(plan: ServicesPlan, log: (line: string) => void): Promise<RunningService[]> {
  const { auth, tokenUrl, partnerOrigin, redis } = plan;
  const sourceFor = (client: ServiceName): TokenSource =>
    auth === 'oauth2'
      ? clientCredentials({ tokenUrl, clientId: client, clientSecret: CLIENT_SECRET })
      : ({ signal }) => requestToken(tokenUrl, { id: client }, signal);

  const running: RunningService[] = [];
  try {
    const naive = await startNaiveService({
      partnerOrigin,
      newToken: async () => (await requestToken(tokenUrl, { id: 'naive' })).value,
    });
    running.push({ name: 'naive', ...naive });

    const reactive = await startReactiveService({ name: 'reactive', partnerOrigin, source: sourceFor('reactive'), log });
    running.push({ name: 'reactive', ...reactive });

    if (redis !== undefined) {
      // The same reactive service, with its source wrapped: the token now lives in Redis,
      // and only the process holding the lock calls the auth server.
      const shared = redisShared(sourceFor('fleet'), { redis: redis.url, key: redis.key });
      const fleet = await startReactiveService({ name: 'fleet', partnerOrigin, source: shared, log }).catch(async (error: unknown) => {
        await shared.close();
        throw error;
      });
      running.push({
        name: 'fleet',
        origin: fleet.origin,
        rotations: fleet.rotations,
        rotationTimes: fleet.rotationTimes,
        incidents: fleet.incidents,
        async close() {
          await fleet.close();
          await shared.close();
        },
      });
    }
    return running;
  } catch (error) {
    await closeServices(running);
    throw error;
  }
}

/** Closes services last started first: none is left holding a connection to another. */
export async function closeServices(services: RunningService[]): Promise<void> {
  for (const service of [...services].reverse()) await service.close();
}
