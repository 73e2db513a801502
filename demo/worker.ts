// One process of the fleet (`npm run demo -- --processes N`), forked by fleet.ts. It runs
// the same services the demo runs in its own process without the flag, and talks to the
// demo over the IPC channel that fork() opens. It exits by itself once they are closed.
import { closeServices, startServices, type ServiceName, type ServicesPlan } from './services.js';

/** What the demo tells a worker. */
export type ToWorker = { type: 'close' };

/** What a worker tells the demo. */
export type FromWorker =
  | { type: 'ready'; origins: Partial<Record<ServiceName, string>> }
  | { type: 'log'; line: string }
  | { type: 'closed'; rotations: Partial<Record<ServiceName, number>> };

/** What the demo passes as the worker's one argument, as JSON. */
export interface WorkerPlan extends ServicesPlan {
  /** 1 to N, for the logs. */
  index: number;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as WorkerPlan;
const tell = (message: FromWorker): void => {
  if (process.connected) process.send?.(message);
};

const services = await startServices(plan, (line) => tell({ type: 'log', line: `[process ${plan.index}] ${line}` }));
tell({ type: 'ready', origins: Object.fromEntries(services.map((service) => [service.name, service.origin])) });

let closing: Promise<void> | undefined;
const close = (): Promise<void> =>
  (closing ??= closeServices(services).then(() => {
    const rotations = services.flatMap((service) => (service.rotations ? [[service.name, service.rotations()] as const] : []));
    tell({ type: 'closed', rotations: Object.fromEntries(rotations) });
    if (process.connected) process.disconnect();
  }));

process.on('message', (message: ToWorker) => {
  if (message.type === 'close') void close();
});
// The demo went away without a word (it crashed, or was killed): do not outlive it.
process.on('disconnect', () => void close());
