import { performance } from 'node:perf_hooks';
import fetch from 'node-fetch';
import { REQUEST_ID } from './timeline.js';

/** One burst of requests against a service. */
export interface LoadOptions {
  /** Where to send them, round-robin; each gets `GET <origin><path>`. */
  origins: string[];
  /**
   * The path of request `index` (0 to requests - 1): for a service with many tenants,
   * which tenant it is for.
   * @default '/data' for every request
   */
  path?: (index: number) => string;
  /** How many requests in all. */
  requests: number;
  /** How many in flight at once: 1 sends them one after another. */
  concurrency: number;
  /** Called as each request is sent. */
  onSent?: () => void;
  /** Called after each request completes: `ok` when it was answered 200. */
  onDone?: (ok: boolean) => void;
  /**
   * Tags each request with an `x-request-id` header, `<prefix>-<n>`, which the services pass
   * on to the partner API: how the timeline tells a retry from a first attempt.
   * @default no header
   */
  requestIds?: string;
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
  const { origins, requests, concurrency, onSent, onDone, requestIds, path = () => '/data' } = options;
  const latenciesMs: number[] = [];
  let failed = 0;
  let next = 0;

  const worker = async (): Promise<void> => {
    while (next < requests) {
      const index = next++;
      const origin = origins[index % origins.length];
      const headers: Record<string, string> = requestIds === undefined ? {} : { [REQUEST_ID]: `${requestIds}-${index + 1}` };
      const startedAt = performance.now();
      let ok = false;
      onSent?.();
      try {
        const res = await fetch(`${origin}${path(index)}`, { headers });
        await res.arrayBuffer();
        ok = res.status === 200;
      } catch {
        // No answer at all: failed, as a non-200 is.
      }
      if (!ok) failed += 1;
      latenciesMs.push(performance.now() - startedAt);
      onDone?.(ok);
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
