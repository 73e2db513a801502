import { performance } from 'node:perf_hooks';
import fetch from 'node-fetch';

/** One burst of requests against a service. */
export interface LoadOptions {
  /** Where to send them, round-robin; each gets `GET <origin>/data`. */
  origins: string[];
  /** How many requests in all. */
  requests: number;
  /** How many in flight at once: 1 sends them one after another. */
  concurrency: number;
  /** Called after each request completes. */
  onDone?: () => void;
}

/** What came back. */
export interface LoadResult {
  requests: number;
  /** Requests answered anything but 200, or not answered at all. */
  failed: number;
  /** Each request's round trip, ms, in completion order. */
  latenciesMs: number[];
}

/** Sends the requests with at most `concurrency` in flight, and times each. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { origins, requests, concurrency, onDone } = options;
  const latenciesMs: number[] = [];
  let failed = 0;
  let next = 0;

  const worker = async (): Promise<void> => {
    while (next < requests) {
      const origin = origins[next++ % origins.length];
      const startedAt = performance.now();
      try {
        const res = await fetch(`${origin}/data`);
        await res.arrayBuffer();
        if (res.status !== 200) failed += 1;
      } catch {
        failed += 1;
      }
      latenciesMs.push(performance.now() - startedAt);
      onDone?.();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, worker));
  return { requests, failed, latenciesMs };
}

/**
 * Opens `connections` keep-alive connections to each origin, as a client that has been
 * running for a while already holds. Without them, setting up the connections spreads a
 * burst out over time, and fewer of its requests meet the expired token at once.
 */
export async function warmUp(origins: string[], connections: number): Promise<void> {
  const open = async (origin: string): Promise<void> => {
    const res = await fetch(`${origin}/health`);
    await res.arrayBuffer();
  };
  await Promise.all(origins.flatMap((origin) => Array.from({ length: connections }, () => open(origin))));
}
