import { expect } from 'chai';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { asyncScheduler } from 'rxjs';
import { TokenStream, type Token } from 'rx-token-stream';
import { settle } from './support/marbles.js';

const LONG = 2_000_000_000;
const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

/** The Timeouts alive now, counted once mocha has armed the test's own timer. */
async function timersNow(): Promise<number> {
  await settle();
  return timers();
}

describe('never keeps the process alive (11)', () => {
  let child: ChildProcess | undefined;
  after(() => {
    // Only if the exit test failed: do not leave the script behind.
    if (child?.exitCode === null && child.signalCode === null) child.kill();
  });

  it('holds no timer once getToken() resolved, even with a long timeout', async () => {
    const before = await timersNow();
    const tokens = new TokenStream({ source: async () => ({ value: 'A', expiresAt: Date.now() + 100_000 }), timeoutMs: LONG });
    const pending = tokens.getToken();
    expect(timers()).to.equal(before + 1);
    await pending;
    expect(await timersNow()).to.equal(before);
  });

  it('holds no timer after a retried refresh or a failed background refresh settled', async () => {
    let now = 0;
    let calls = 0;
    const tokens = new TokenStream({
      source: async (): Promise<Token> => {
        calls += 1;
        if (calls === 1) throw Object.assign(new Error('retry me'), { retryAfterMs: 1 });
        if (calls === 3) throw new Error('background failure');
        return { value: `T${calls}`, expiresAt: now + 100 };
      },
      timeoutMs: LONG,
      retry: { count: 2, delayMs: LONG },
      // Real timers, but expiry on a clock the test moves.
      scheduler: { now: () => now, schedule: asyncScheduler.schedule.bind(asyncScheduler) },
    });
    const before = await timersNow();
    expect((await tokens.getToken()).value).to.equal('T2');
    expect(await timersNow()).to.equal(before);
    now = 60;
    expect((await tokens.getToken()).value).to.equal('T2');
    // The background call failed; a retry timer of LONG ms would show up here.
    expect(await timersNow()).to.equal(before);
    expect(calls).to.equal(3);
    tokens.close();
  });

  it('lets a script that gets a token and returns exit by itself', async function () {
    this.timeout(15_000);
    const script = fileURLToPath(new URL('fixtures/core-keep-alive.ts', import.meta.url));
    child = fork(script, [], {
      execArgv: ['--import', 'tsx', '--conditions=rx-token-stream-source'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child?.on('exit', resolve));
    expect(output.trim()).to.equal('token-3 after 3 calls');
    expect(code).to.equal(0);
  });
});
