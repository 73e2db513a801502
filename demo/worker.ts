// One process of the fleet (`npm run demo -- --processes N`), forked by fleet.ts. It runs
// the same services the demo runs in its own process without the flag, and talks to the
// demo over the IPC channel that fork() opens. It exits by itself once they are closed.
import { startRefreshServices, type RefreshServicesPlan } from './refresh-services.js';
import { closeServices, startServices, type RunningService, type ServiceName, type ServicesPlan } from './services.js';

/** What a worker is to run: the default services, or those of `--grant refresh_token`. */
export type FleetPlan = ServicesPlan | RefreshServicesPlan;

/** What a worker is to run; `index` (1 to N) names it in the logs. */
export type WorkerPlan = FleetPlan & { index: number };

/**
 * What the demo tells a worker. The plan comes over IPC rather than on the command line,
 * where any user of the machine could read the Redis URL (and a password in it).
 */
export type ToWorker = { type: 'start'; plan: WorkerPlan } | { type: 'close' };

/** What a worker tells the demo. */
export type FromWorker =
  | { type: 'listening' }
  | { type: 'ready'; origins: Partial<Record<ServiceName, string>> }
  | { type: 'log'; line: string }
  | {
      type: 'closed';
      rotations: Partial<Record<ServiceName, number>>;
      /** When each token arrived, epoch ms (the same clock in every process of the machine). */
      rotationTimes: Partial<Record<ServiceName, number[]>>;
      incidents: Partial<Record<ServiceName, string[]>>;
    };

const tell = (message: FromWorker): void => {
  if (process.connected) process.send?.(message);
};

let services: RunningService[] = [];
let closing: Promise<void> | undefined;

async function start(plan: WorkerPlan): Promise<void> {
  const log = (line: string): void => tell({ type: 'log', line: `[process ${plan.index}] ${line}` });
  services = 'grant' in plan ? await startRefreshServices(plan, log) : await startServices(plan, log);
  tell({ type: 'ready', origins: Object.fromEntries(services.map((service) => [service.name, service.origin])) });
}

function close(): Promise<void> {
  closing ??= closeServices(services).then(() => {
    const rotations = services.flatMap((service) => (service.rotations ? [[service.name, service.rotations()] as const] : []));
    const times = services.flatMap((service) => (service.rotationTimes ? [[service.name, service.rotationTimes()] as const] : []));
    const incidents = services.flatMap((service) => (service.incidents ? [[service.name, service.incidents()] as const] : []));
    tell({
      type: 'closed',
      rotations: Object.fromEntries(rotations),
      rotationTimes: Object.fromEntries(times),
      incidents: Object.fromEntries(incidents),
    });
    // The channel is the last thing keeping this process alive.
    if (process.connected) process.disconnect();
  });
  return closing;
}

process.on('message', (message: ToWorker) => {
  if (message.type === 'close') void close();
  if (message.type !== 'start') return;
  start(message.plan).catch((error: unknown) => {
    process.stderr.write(`demo worker ${message.plan.index}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
    process.disconnect();
  });
});
// The demo went away without a word (it crashed, or was killed): do not outlive it.
process.on('disconnect', () => void close());
// A message sent before there is a listener is lost: ask for the plan only now.
tell({ type: 'listening' });
