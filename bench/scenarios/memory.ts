import { getEventListeners, setMaxListeners } from 'node:events';
import { first } from 'rxjs';
import { TokenStream, authFetch, type Token } from 'rx-token-stream';
import { clock, clockScheduler } from '../contenders/contender.js';
import { target, type Row, type Target } from '../report.js';
import { startPartner } from '../support/partner.js';
import { runConcurrently, settleHeap } from '../support/stats.js';
import type { Scenario } from './scenario.js';

const MB = 1024 * 1024;

/** Timers alive in this process: a stream or wrapper that leaves one behind shows here. */
function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

/**
 * One AbortController for every call, as a service passes its shutdown signal to all its
 * requests. Each call listens on it while it waits (node-fetch does too), so with
 * thousands in flight Node's default of 10 listeners would print a leak warning for what
 * is the expected peak; the check that matters is that none is left at the end.
 */
function sharedSignal(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** How many of `refs` still reach their object after a full collection. */
function alive(refs: readonly WeakRef<object>[]): number {
  return refs.filter((ref) => ref.deref() !== undefined).length;
}

/**
 * 5a: getToken() in batches of 1,000 concurrent callers, with the token invalidated before
 * every batch, so that every batch waits on a refresh; half the batches pass a signal.
 * Then token$.pipe(first()) subscriptions. Returns the heap growth and what was left behind.
 */
async function getTokenRun(calls: number, progress: (fraction: number) => void) {
  const batch = 1_000;
  let authCalls = 0;
  const tokens = new TokenStream({
    source: async () => ({ value: `token-${++authCalls}`, expiresAt: clock.now() + 3_600_000 }),
    scheduler: clockScheduler,
  });
  const controller = sharedSignal();
  const waiters: WeakRef<object>[] = [];
  const observers: WeakRef<object>[] = [];
  const runBatches = async (batches: number, sample: boolean): Promise<void> => {
    for (let b = 0; b < batches; b += 1) {
      tokens.invalidate(await tokens.getToken());
      const options = b % 2 === 0 ? {} : { signal: controller.signal };
      const pending: Promise<Token>[] = [];
      for (let i = 0; i < batch; i += 1) pending.push(tokens.getToken(options));
      if (sample) waiters.push(new WeakRef(pending[0]!), new WeakRef(pending[batch - 1]!));
      await Promise.all(pending);
      if (b % 50 === 0) progress(b / batches);
    }
  };
  await runBatches(20, false);
  const timersBefore = activeTimers();
  const before = await settleHeap();
  const authCallsBefore = authCalls;
  await runBatches(calls / batch, true);
  // token$ subscribers that take one token each: the stream must let every one of them go.
  for (let i = 0; i < calls / 10; i += 1) {
    const observer = { next: (_token: Token) => undefined };
    if (i % 100 === 0) observers.push(new WeakRef(observer));
    tokens.token$.pipe(first()).subscribe(observer);
  }
  const after = await settleHeap();
  const result = {
    heapDeltaMB: (after - before) / MB,
    authCalls: authCalls - authCallsBefore,
    signalListeners: getEventListeners(controller.signal, 'abort').length,
    waitersRetained: alive(waiters),
    observersRetained: alive(observers),
    sampled: waiters.length + observers.length,
    timersLeft: activeTimers() - timersBefore,
  };
  tokens.close();
  return result;
}

/** 5b: authFetch calls at concurrency 64 against a partner that rotates its token. */
async function authFetchRun(calls: number, progress: (fraction: number) => void) {
  const rotateEvery = calls / 10;
  const partner = await startPartner({ rotateEvery });
  try {
    const tokens = new TokenStream({ source: () => partner.authCall(), scheduler: clockScheduler });
    const fetch = authFetch(tokens, { origins: [partner.origin] });
    const controller = sharedSignal();
    const url = `${partner.origin}/api`;
    let failed = 0;
    const send = async (index: number): Promise<void> => {
      const response = await fetch(url, index % 2 === 0 ? {} : { signal: controller.signal });
      await response.arrayBuffer();
      if (response.status !== 200) failed += 1;
      if (index % 1_000 === 0) progress(index / calls);
    };
    const warmUp = Math.min(2_000, calls / 10);
    await runConcurrently(warmUp, 64, send);
    await partner.reset();
    const timersBefore = activeTimers();
    const before = await settleHeap();
    await runConcurrently(calls, 64, send);
    const after = await settleHeap();
    const stats = await partner.stats();
    const result = {
      heapDeltaMB: (after - before) / MB,
      authCalls: stats.authCalls,
      // The partner revokes after every rotateEvery-th accepted request, warm-up included;
      // a revocation costs an auth call when a request follows it in the measured part.
      expectedAuthCalls: Math.floor((warmUp + calls - 1) / rotateEvery) - Math.floor((warmUp - 1) / rotateEvery),
      rejected: stats.rejected,
      failed,
      signalListeners: getEventListeners(controller.signal, 'abort').length,
      timersLeft: activeTimers() - timersBefore,
    };
    tokens.close();
    return result;
  } finally {
    await partner.close();
  }
}

/** Scenario 5: heap growth after forced GC, and what is left behind. */
export const memory: Scenario = async ({ quick, progress }) => {
  const [getTokenCalls, fetchCalls] = quick ? [100_000, 5_000] : [1_000_000, 100_000];
  const a = await getTokenRun(getTokenCalls, (f) => progress(Math.round(f * 50), 100));
  const b = await authFetchRun(fetchCalls, (f) => progress(50 + Math.round(f * 50), 100));
  const n = (value: number): string => value.toLocaleString('en-US');
  const rows: Row[] = [
    {
      contender: 'rx-token-stream getToken()',
      case: `${n(getTokenCalls)} calls in ${n(getTokenCalls / 1_000)} refreshes, then ${n(getTokenCalls / 10)} token$.pipe(first())`,
      figures: {
        'heap Δ after GC (MB)': a.heapDeltaMB,
        'auth calls': a.authCalls,
        'abort listeners left': a.signalListeners,
        'waiters/observers still reachable': `${a.waitersRetained + a.observersRetained} of ${a.sampled} sampled`,
        'timers left': a.timersLeft,
      },
    },
    {
      contender: 'rx-token-stream authFetch',
      case: `${n(fetchCalls)} GETs at concurrency 64, token rotated every ${n(fetchCalls / 10)}`,
      figures: {
        'heap Δ after GC (MB)': b.heapDeltaMB,
        'auth calls': b.authCalls,
        'abort listeners left': b.signalListeners,
        'timers left': b.timersLeft,
        'failed requests': b.failed,
        '401s retried': b.rejected,
      },
    },
  ];
  const targets: Target[] = [
    target('getToken(): heap Δ after GC (MB)', a.heapDeltaMB, '< 2', 'measure', (v) => v < 2),
    target('getToken(): auth calls (one per refresh)', a.authCalls, `= ${n(getTokenCalls / 1_000)}`, 'count', (v) => v === getTokenCalls / 1_000),
    target('getToken()/token$: listeners, waiters, observers, timers left', a.signalListeners + a.waitersRetained + a.observersRetained + a.timersLeft, '= 0', 'count', (v) => v === 0),
    target('authFetch: heap Δ after GC (MB)', b.heapDeltaMB, '< 2', 'measure', (v) => v < 2),
    target('authFetch: failed requests', b.failed, '= 0', 'count', (v) => v === 0),
    target('authFetch: auth calls (one per rotation)', b.authCalls, `= ${b.expectedAuthCalls}`, 'count', (v) => v === b.expectedAuthCalls),
    target('authFetch: abort listeners and timers left', b.signalListeners + b.timersLeft, '= 0', 'count', (v) => v === 0),
  ];
  return { id: '5 memory', title: '5. Memory: heap after forced GC, as a delta from the start', rows, targets };
};
