import { fork, type ChildProcess } from 'node:child_process';
import type { ServiceName } from './services.js';
import type { FleetPlan, FromWorker, ToWorker, WorkerPlan } from './worker.js';

/** One service run by every process of the fleet. */
export interface FleetService {
  name: ServiceName;
  /** One origin per process. */
  origins: string[];
  /**
   * Token rotations, complete once the fleet is closed. For `reactive` (and `per-process`),
   * whose processes each hold their own token, the sum over the processes. For `fleet`, whose processes share
   * theirs, the most any one process went through: as many auth calls as that means that
   * process received every token fetched, so no call was made for one process alone.
   */
  rotations?: () => number;
  /** When each of its processes received each token, epoch ms: one list per process, once the fleet is closed. */
  rotationTimes?: () => number[][];
  /** What went wrong in any of its processes, each once; complete once the fleet is closed. */
  incidents?: () => string[];
}

/** N processes running the demo's services. */
export interface Fleet {
  services: FleetService[];
  /** Closes every process's services, and resolves once every process has exited. */
  close(): Promise<void>;
}

// The workers are TypeScript, importing the package by name: the way the demo itself runs.
const WORKER_ARGV = ['--import', 'tsx', '--conditions=rx-token-stream-source'];

/**
 * Forks `processes` workers, each running the services of `plan` on its own ports. The
 * auth server and the partner API stay in this process, so their counts are fleet-wide.
 */
export async function startFleet(plan: FleetPlan, processes: number, log: (line: string) => void): Promise<Fleet> {
  const workers = Array.from({ length: processes }, (_, index) => startWorker({ ...plan, index: index + 1 }, log));
  const ready = await Promise.allSettled(workers.map((worker) => worker.ready));
  const failed = ready.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(workers.map((worker) => worker.close()));
    throw failed.reason;
  }
  const origins = ready.map((result) => (result as PromiseFulfilledResult<FromWorkerReady>).value.origins);
  // What each worker reported as it closed: its rotations and incidents, by service.
  const closed: WorkerReport[] = [];
  const names = Object.keys(origins[0] ?? {}) as ServiceName[];

  return {
    services: names.map((name) => {
      const counts = (): number[] => closed.map((report) => report.rotations[name] ?? 0);
      const service: FleetService = { name, origins: origins.map((byName) => byName[name] ?? '') };
      if (name === 'naive') return service;
      service.rotations = name === 'fleet' ? () => Math.max(0, ...counts()) : () => counts().reduce((sum, count) => sum + count, 0);
      service.rotationTimes = () => closed.map((report) => report.rotationTimes[name] ?? []);
      service.incidents = () => [...new Set(closed.flatMap((report) => report.incidents[name] ?? []))];
      return service;
    }),
    async close() {
      closed.push(...(await Promise.all(workers.map((worker) => worker.close()))));
    },
  };
}

type FromWorkerReady = Extract<FromWorker, { type: 'ready' }>;
/** What a worker tells as it closes. */
type WorkerReport = Omit<Extract<FromWorker, { type: 'closed' }>, 'type'>;

interface Worker {
  /** Settles once its services listen, or it exited before. */
  ready: Promise<FromWorkerReady>;
  /** Closes its services, waits for it to exit, and resolves with what it reported. */
  close(): Promise<WorkerReport>;
}

function startWorker(plan: WorkerPlan, log: (line: string) => void): Worker {
  // stdout stays the demo's own (it carries the JSON with --json): a worker logs over IPC.
  const child: ChildProcess = fork(new URL('./worker.ts', import.meta.url), [], {
    execArgv: WORKER_ARGV,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let report: WorkerReport = { rotations: {}, rotationTimes: {}, incidents: {} };
  let started = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<FromWorkerReady>((resolve, reject) => {
    child.on('message', (message: FromWorker) => {
      if (message.type === 'listening') child.send({ type: 'start', plan } satisfies ToWorker);
      if (message.type === 'ready') {
        started = true;
        resolve(message);
      }
      if (message.type === 'log') log(message.line);
      if (message.type === 'closed') {
        report = { rotations: message.rotations, rotationTimes: message.rotationTimes, incidents: message.incidents };
      }
    });
    void exited.then(() => reject(new Error(`demo worker ${plan.index} exited before its services started (code ${child.exitCode})`)));
  });

  return {
    ready,
    async close() {
      // A worker still starting has no ear for 'close' yet: stop it instead.
      if (!started) child.kill();
      else if (child.connected) child.send({ type: 'close' } satisfies ToWorker);
      // A worker that cannot close (a stuck connection) must not keep the demo from exiting.
      const stuck = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(stuck);
      return report;
    },
  };
}
