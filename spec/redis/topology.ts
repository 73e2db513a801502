// Starts a real Redis topology for a suite, or skips it with a one-line reason when the
// binaries are missing (and fails instead under REQUIRE_REDIS=1).
import { Cluster } from 'ioredis';
import { binary, type Address } from '../support/redis-topologies.js';

/** Skips the suite when one of `binaries` is not on PATH; fails under REQUIRE_REDIS=1. */
export function requireBinaries(context: Mocha.Context, ...binaries: string[]): void {
  const missing = binaries.filter((name) => binary(name) === undefined);
  if (missing.length === 0) return;
  const reason = `${missing.join(', ')} not on PATH (apt-get install -y redis-server redis-sentinel)`;
  if (process.env.REQUIRE_REDIS === '1') throw new Error(`REQUIRE_REDIS=1 but ${reason}`);
  console.log(`      skipped: ${reason}`);
  context.skip();
}

/** One node's line of CLUSTER NODES. */
export interface ClusterNodeLine {
  id: string;
  address: Address;
  primary: boolean;
  /** The id of its primary, for a replica. */
  primaryId: string | undefined;
}

/** What the cluster says of its nodes now. */
export async function clusterNodes(cluster: Cluster): Promise<ClusterNodeLine[]> {
  const text = (await cluster.call('CLUSTER', 'NODES')) as string;
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', primaryId = ''] = line.split(' ');
      const [host = '', port = ''] = (address.split('@')[0] ?? '').split(':');
      return { id, address: { host, port: Number(port) }, primary: flags.includes('master'), primaryId: primaryId === '-' ? undefined : primaryId };
    });
}
