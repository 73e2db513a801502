import type { TokenSource } from 'rx-token-stream';
import { startNaiveService } from './naive-service.js';
import { startPartnerApi } from './partner-api.js';
import { startReactiveService } from './reactive-service.js';
import { requestToken, startTokenService } from './token-service.js';

/** How the demo's servers are set up. */
export interface StackOptions {
  /** Token lifetime, ms. */
  ttlMs: number;
  /** Token service latency, ms. */
  authLatencyMs: number;
  /** Where services tell what happens to them (token rotations). */
  log: (line: string) => void;
}

/** One service under load: one row of the table per round. */
export interface DemoService {
  /** The row's label. */
  name: string;
  /** Where the load sends its requests (several for a fleet of processes). */
  origins: string[];
  /** The auth calls it has made so far, as the auth server counted them. */
  authCalls(): number;
  /** The 401s the partner API has answered it so far. */
  unauthorized(): number;
  /** Tokens it has received so far, for a service that holds them in a `TokenStream`. */
  rotations?: () => number;
}

/** Every server of the demo, running. */
export interface Stack {
  services: DemoService[];
  /** How long until every token issued so far has expired, ms. */
  msUntilTokensExpire(): number;
  /** Closes every server and token stream. */
  close(): Promise<void>;
}

/**
 * Starts the token service, the partner API and the services in front of it: the one
 * place where sources and services are built, so another row (another source, a fleet
 * of processes) is one more entry here.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { ttlMs, authLatencyMs, log } = options;
  const started: Array<() => Promise<void>> = [];
  // Last started, first closed: the services hold connections to the servers behind them.
  const closeAll = async (): Promise<void> => {
    for (const close of started.splice(0).reverse()) await close();
  };
  try {
    const auth = await startTokenService({ ttlMs, latencyMs: authLatencyMs });
    started.push(auth.close);
    const partner = await startPartnerApi(auth.verify);
    started.push(partner.close);
    const counted = (name: string, origin: string): DemoService => ({
      name,
      origins: [origin],
      authCalls: () => auth.callsBy(name),
      unauthorized: () => partner.rejectedFor(name),
    });

    const naive = await startNaiveService({
      partnerOrigin: partner.origin,
      newToken: async () => (await requestToken(auth.origin, 'naive')).value,
    });
    started.push(naive.close);

    const source: TokenSource = ({ signal }) => requestToken(auth.origin, 'reactive', signal);
    const reactive = await startReactiveService({ name: 'reactive', partnerOrigin: partner.origin, source, log });
    started.push(reactive.close);

    return {
      services: [counted('naive', naive.origin), { ...counted('reactive', reactive.origin), rotations: reactive.rotations }],
      msUntilTokensExpire: () => Math.max(0, auth.lastExpiresAt() - Date.now()),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
