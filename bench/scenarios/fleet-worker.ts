/**
 * One process of the fleet scenario, driven by fleet.ts over IPC: it holds a TokenStream
 * whose source is the partner's auth server, shared through Redis or not, and makes the
 * demands it is told to.
 */
import { TokenStream, type TokenSource } from 'rx-token-stream';
import { redisShared, type SharedTokenSource } from 'rx-token-stream/redis';
import { authCallTo } from '../support/partner.js';

/** What fleet.ts asks of a worker. */
export type WorkerRequest =
  | { type: 'setup'; partnerPort: number; redis?: { url: string; key: string } }
  | { type: 'demand'; count: number }
  | { type: 'teardown' };

/** A worker's answer to a demand: when its last caller got a token, in epoch ms. */
export interface DemandReply {
  type: 'demand';
  /** When the demands started and when the last was served: epoch ms, sub-ms precision. */
  startedAt: number;
  releasedAt: number;
  /** Whether this process called the auth server itself this time. */
  calledAuth: boolean;
  /** When its auth call answered, if it made one: epoch ms. */
  authRepliedAt: number | undefined;
  distinctTokens: number;
}

let tokens: TokenStream | undefined;
let shared: SharedTokenSource | undefined;
let authCalls = 0;
let authRepliedAt: number | undefined;

const wallClock = (): number => performance.timeOrigin + performance.now();

async function handle(request: WorkerRequest): Promise<unknown> {
  if (request.type === 'setup') {
    const direct: TokenSource = async () => {
      authCalls += 1;
      const token = await authCallTo(request.partnerPort);
      authRepliedAt = wallClock();
      return token;
    };
    shared = request.redis === undefined ? undefined : redisShared(direct, { redis: request.redis.url, key: request.redis.key });
    tokens = new TokenStream({ source: shared ?? direct });
    return { type: 'setup' };
  }
  if (request.type === 'demand') {
    const stream = tokens as TokenStream;
    const callsBefore = authCalls;
    authRepliedAt = undefined;
    const startedAt = wallClock();
    const all = await Promise.all(Array.from({ length: request.count }, () => stream.getToken()));
    const releasedAt = wallClock();
    const reply: DemandReply = {
      type: 'demand',
      startedAt,
      releasedAt,
      calledAuth: authCalls > callsBefore,
      authRepliedAt,
      distinctTokens: new Set(all.map((token) => token.value)).size,
    };
    return reply;
  }
  tokens?.close();
  await shared?.close();
  tokens = undefined;
  shared = undefined;
  return { type: 'teardown' };
}

process.on('message', (request: WorkerRequest) => {
  void handle(request).then(
    (reply) => process.send?.(reply),
    (error: unknown) => process.send?.({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
});
