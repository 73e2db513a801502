import { startFleet } from './fleet.js';
import { startOAuth2Server } from './oauth2-server.js';
import { startPartnerApi } from './partner-api.js';
import { closeServices, fleetKey, startServices, type AuthKind, type ServicesPlan } from './services.js';
import type { TimelineRecorder } from './timeline.js';
import { startTokenService } from './token-service.js';

/** How the demo's servers are set up. */
export interface StackOptions {
  /** Token lifetime, ms. */
  ttlMs: number;
  /** Auth server latency, ms. */
  authLatencyMs: number;
  /** The demo's own token service, or a real OAuth2 server. */
  auth: AuthKind;
  /** Run the services in this many forked processes; absent: in this process. */
  processes?: number;
  /** A `redis://` URL: adds the `fleet` service, which shares its token through Redis. */
  redisUrl?: string;
  /** Where services tell what happens to them (token rotations). */
  log: (line: string) => void;
  /**
   * Records the auth calls and the partner API's answers, for `--svg`.
   * @default nothing recorded
   */
  timeline?: TimelineRecorder;
}

/** One service under load: one row of the table per round. */
export interface DemoService {
  /** The row's label. */
  name: string;
  /** Where the load sends its requests (one per process). */
  origins: string[];
  /** The auth calls it has made so far, as the auth server counted them. */
  authCalls(): number;
  /** The 401s the partner API has answered it so far. */
  unauthorized(): number;
  /** Token rotations, for a service that holds its tokens in a `TokenStream`; complete once closed. */
  rotations?: () => number;
  /** When each of its processes received each token, epoch ms (one list per process); complete once closed. */
  rotationTimes?: () => number[][];
  /** What went wrong for its `TokenStream`s, each once; complete once closed. */
  incidents?: () => string[];
  /** How many processes it ran in, with `--processes`. */
  processes?: number;
  /** Whether its processes share one token (through Redis). */
  shared?: boolean;
}

/** Every server of the demo, running. */
export interface Stack {
  services: DemoService[];
  /** How long until every token issued so far has expired, ms. */
  msUntilTokensExpire(): number;
  /** Closes every server, token stream and process. */
  close(): Promise<void>;
}

/**
 * Starts the auth server, the partner API, and the services in front of it (see
 * services.ts), in this process or in `processes` forked ones. The auth server and the
 * partner API always run here, so what they count is fleet-wide.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { ttlMs, authLatencyMs, auth: kind, processes, redisUrl, log, timeline } = options;
  const started: Array<() => Promise<void>> = [];
  // Last started, first closed: the services hold connections to the servers behind them.
  const closeAll = async (): Promise<void> => {
    for (const close of started.splice(0).reverse()) await close();
  };
  try {
    const startAuth = kind === 'oauth2' ? startOAuth2Server : startTokenService;
    const onCall = timeline === undefined ? {} : { onCall: (client: string) => timeline.record(client, 'auth call') };
    const auth = await startAuth({ ttlMs, latencyMs: authLatencyMs, ...onCall });
    started.push(auth.close);
    const partner = await startPartnerApi(auth.verify, timeline?.partnerAnswered.bind(timeline));
    started.push(partner.close);
    const plan: ServicesPlan = {
      auth: kind,
      tokenUrl: auth.tokenUrl,
      partnerOrigin: partner.origin,
      ...(redisUrl === undefined ? {} : { redis: { url: redisUrl, key: fleetKey() } }),
    };

    let hosted: Array<Omit<DemoService, 'authCalls' | 'unauthorized'>>;
    if (processes === undefined) {
      const services = await startServices(plan, log);
      started.push(() => closeServices(services));
      hosted = services.map(({ name, origin, rotations, rotationTimes, incidents }) => ({
        name,
        origins: [origin],
        ...(rotations ? { rotations } : {}),
        ...(rotationTimes ? { rotationTimes: () => [rotationTimes()] } : {}),
        ...(incidents ? { incidents } : {}),
      }));
    } else {
      const fleet = await startFleet(plan, processes, log);
      started.push(fleet.close);
      hosted = fleet.services.map((service) => ({ ...service, processes, shared: service.name === 'fleet' }));
    }

    return {
      services: hosted.map((service) => ({
        ...service,
        authCalls: () => auth.callsBy(service.name),
        unauthorized: () => partner.rejectedFor(service.name),
      })),
      msUntilTokensExpire: () => Math.max(0, auth.lastExpiresAt() - Date.now()),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
