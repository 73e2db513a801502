// Processes of a fleet for the fleet specs: each runs a fixture of spec/fixtures, driven
// over its IPC channel with requests it answers one by one.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A fixture's answer: the result of a request, or an error message. */
export type ForkedReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** One forked process, driven with requests of type `Request`. */
export class Forked<Request> {
  readonly pid: number;
  readonly exited: Promise<void>;
  readonly #process: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly #notices: ((message: object) => void)[] = [];
  #next = 1;

  private constructor(child: ChildProcess) {
    this.#process = child;
    this.pid = child.pid as number;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (reply: ForkedReply | object) => {
      if (!('ok' in reply)) {
        for (const notify of this.#notices.splice(0)) notify(reply);
        return;
      }
      const pending = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (reply.ok) pending?.resolve(reply.result);
      else pending?.reject(new Error(reply.error));
    });
    child.once('exit', (code, signal) => {
      for (const { reject } of this.#pending.values()) reject(new Error(`child exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  /** Forks spec/fixtures/`name` with the specs' settings; resolves once it says it is ready. */
  static async fork<Request>(name: string): Promise<Forked<Request>> {
    const child = fork(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), [], {
      execArgv: ['--import', 'tsx', '--conditions=rx-token-stream-source'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    return new Forked<Request>(child);
  }

  /** Forks `count` processes at once; if one fails, kills the others and throws. */
  static async forkAll<Request>(name: string, count: number): Promise<Forked<Request>[]> {
    const forked = await Promise.allSettled(Array.from({ length: count }, () => Forked.fork<Request>(name)));
    const children = forked.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = forked.find((result) => result.status === 'rejected');
    if (failed === undefined) return children;
    for (const child of children) child.kill();
    throw failed.reason;
  }

  request<T>(request: Request): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      // With a callback, a closed channel fails this request instead of the whole process.
      this.#process.send({ id, request }, (error) => {
        if (error === null) return;
        this.#pending.delete(id);
        reject(error);
      });
    });
  }

  /** Resolves with the next message the fixture sends of its own accord, not as a reply: a point it reached, say. */
  notice<T extends object>(): Promise<T> {
    return new Promise((resolve) => this.#notices.push(resolve as (message: object) => void));
  }

  /**
   * Asks the process to tear down with `request`, and waits for it to exit by itself (its
   * IPC channel closed); kills it if it has not within a few seconds, so that it cannot
   * keep the spec process alive.
   */
  async stop(request: Request): Promise<void> {
    if (!this.alive) return;
    const timer = setTimeout(() => this.kill(), 5_000);
    await this.request(request).catch(() => {});
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILLs the process; resolves once it is gone. */
  kill(): Promise<void> {
    this.#process.kill('SIGKILL');
    return this.exited;
  }

  get alive(): boolean {
    return this.#process.exitCode === null && this.#process.signalCode === null;
  }
}

/**
 * Serves a fixture's requests with `handle`, one reply each, and says it is ready. After
 * a request for which `last` is true, it leaves the IPC channel, so that it exits by itself
 * once nothing else holds it.
 */
export function serveRequests<Request>(handle: (request: Request) => Promise<unknown>, last: (request: Request) => boolean): void {
  process.on('message', (message: { id: number; request: Request }) => {
    handle(message.request).then(
      (result) =>
        process.send?.({ id: message.id, ok: true, result } satisfies ForkedReply, () => {
          if (last(message.request)) process.disconnect();
        }),
      (error: unknown) =>
        process.send?.({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies ForkedReply),
    );
  });
  process.send?.({ id: 0, ok: true, result: 'ready' } satisfies ForkedReply);
}
