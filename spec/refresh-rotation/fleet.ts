// The parent's side of a fleet of forked processes (spec/fixtures/rotation-child.ts): each
// is driven over IPC, tells where it stopped, and can be SIGKILLed.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RotationChildMessage, RotationChildRequest } from '../fixtures/rotation-child.js';

const CHILD = fileURLToPath(new URL('../fixtures/rotation-child.ts', import.meta.url));

/** One forked process of the fleet. */
export class FleetChild {
  readonly pid: number;
  readonly exited: Promise<void>;
  readonly #process: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly #stops: ((point: string) => void)[] = [];
  #next = 1;

  private constructor(child: ChildProcess) {
    this.#process = child;
    this.pid = child.pid as number;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (message: RotationChildMessage) => {
      if ('stopped' in message) {
        for (const stopped of this.#stops.splice(0)) stopped(message.stopped);
        return;
      }
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.ok) pending?.resolve(message.result);
      else pending?.reject(new Error(message.error));
    });
    child.once('exit', (code, signal) => {
      for (const { reject } of this.#pending.values()) reject(new Error(`child exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  /** Forks a child and waits until it is ready. */
  static async fork(): Promise<FleetChild> {
    const child = fork(CHILD, [], {
      execArgv: ['--import', 'tsx', '--conditions=rx-token-stream-source'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    return new FleetChild(child);
  }

  request<T>(request: RotationChildRequest): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#process.send({ id, request });
    });
  }

  /** Resolves with the kill point the child reaches next. */
  stopped(): Promise<string> {
    return new Promise((resolve) => this.#stops.push(resolve));
  }

  /** SIGKILLs it and waits until it is gone. */
  async kill(): Promise<void> {
    this.#process.kill('SIGKILL');
    await this.exited;
  }

  get alive(): boolean {
    return this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** Asks it to close what it opened and leave; kills it if it has not within 5 s. */
  async leave(): Promise<void> {
    if (!this.alive) return;
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), 5_000);
    await this.request({ type: 'teardown' }).catch(() => {});
    await this.exited;
    clearTimeout(timer);
  }
}

/** Forks `count` children at once; if one fails, the others leave and the failure is thrown. */
export async function forkFleet(count: number): Promise<FleetChild[]> {
  const forked = await Promise.allSettled(Array.from({ length: count }, () => FleetChild.fork()));
  const children = forked.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = forked.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(children.map((child) => child.leave()));
    throw failed.reason;
  }
  return children;
}
