/**
 * Runs one scenario in its own process (so that heaps and JIT state never mix) and sends
 * its figures to the parent over IPC. Started by run.ts; prints nothing itself.
 */
import type { ScenarioResult } from './report.js';
import { scenarios } from './scenarios/index.js';

/** A message from a scenario child to run.ts. */
export type ChildMessage =
  | { type: 'progress'; done: number; total: number }
  | { type: 'result'; result: ScenarioResult };

async function main(): Promise<void> {
  const [id, mode] = process.argv.slice(2);
  const load = id === undefined ? undefined : scenarios[id]?.load;
  if (load === undefined || process.send === undefined) throw new Error(`bench child: unknown scenario ${String(id)}`);
  const send = (message: ChildMessage): void => {
    process.send?.(message);
  };
  const scenario = await load();
  const startedAt = performance.now();
  const result = await scenario({ quick: mode === '--quick', progress: (done, total) => send({ type: 'progress', done, total }) });
  result.seconds = (performance.now() - startedAt) / 1000;
  await new Promise<void>((resolve, reject) => process.send?.({ type: 'result', result } satisfies ChildMessage, (error: Error | null) => (error ? reject(error) : resolve())));
  process.disconnect();
}

await main();
