/** A redis-server for the fleet scenario: REDIS_URL when set, else one started on a free port. */
import { ping, redisServerBinary, startRedisServer } from '../../spec/support/redis-server.js';

/** A Redis the bench can use, and how to let go of it. */
export interface BenchRedis {
  url: string;
  /** Stops the server if the bench started it. */
  stop(): Promise<void>;
}

/** A running Redis, or the reason there is none (the scenario is then skipped, saying why). */
export async function startRedis(): Promise<BenchRedis | string> {
  const given = process.env.REDIS_URL;
  if (given !== undefined && given !== '') {
    const { hostname, port } = new URL(given);
    return (await ping(Number(port || 6379), hostname))
      ? { url: given, stop: async () => undefined }
      : `REDIS_URL (${hostname}:${port}) does not answer PING`;
  }
  if (redisServerBinary() === undefined) return 'redis-server is not on PATH (apt-get install -y redis-server, or set REDIS_URL)';
  try {
    return await startRedisServer();
  } catch (error) {
    return (error as Error).message;
  }
}
