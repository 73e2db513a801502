import { expect } from 'chai';
import fc from 'fast-check';
import { Observable, asapScheduler, type Subscription } from 'rxjs';
import { TokenStreams, type Token, type TokenSourceContext } from 'rx-token-stream';
import { interleave } from '../support/interleave.js';

const KEYS = ['k0', 'k1', 'k2', 'k3'];

type Op =
  | { kind: 'getToken'; key: number; abortable: boolean }
  | { kind: 'subscribe'; key: number }
  | { kind: 'unsubscribe'; pick: number }
  | { kind: 'invalidate'; key: number; pick: number }
  | { kind: 'abort'; pick: number }
  | { kind: 'tick'; ms: number };

const key = fc.nat(KEYS.length - 1);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('getToken' as const), key, abortable: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('subscribe' as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unsubscribe' as const), pick: fc.nat(20) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('invalidate' as const), key, pick: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 60 }) }) },
);

describe('TokenStreams under random interleavings (property)', () => {
  it('never serves a token fetched for one key to another, keeps one call in flight per key and settles every caller', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(op, { maxLength: 30 }), fc.array(fc.boolean(), { maxLength: 40 }), async (s, ops, failures) => {
        let clock = 0;
        let calls = 0;
        const violations: string[] = [];
        const inFlight = new Map<string, number>();
        const source = (context: TokenSourceContext): Observable<Token> => {
          const forKey = context.key ?? '(none)';
          calls += 1;
          const call = calls;
          const fails = failures[call - 1] ?? false;
          inFlight.set(forKey, (inFlight.get(forKey) ?? 0) + 1);
          if ((inFlight.get(forKey) ?? 0) > 1) violations.push(`call ${call}: two calls in flight for ${forKey}`);
          return new Observable<Token>((subscriber) => {
            let open = true;
            const release = (): void => {
              if (open) inFlight.set(forKey, (inFlight.get(forKey) ?? 1) - 1);
              open = false;
            };
            context.signal.addEventListener('abort', release);
            void s.schedule(Promise.resolve(), `settle ${forKey} call ${call}`).then(() => {
              if (!open) return;
              release();
              if (fails) subscriber.error(Object.assign(new Error('down'), { retryable: false }));
              else subscriber.next({ value: `${forKey}#${call}`, expiresAt: clock + 50 });
            });
          });
        };
        // Two keys at most, and a short idle time: evictions happen all the time.
        const streams = new TokenStreams({
          source,
          maxKeys: 2,
          idleMs: 30,
          refreshWindowMs: 0,
          timeoutMs: 1_000_000_000,
          retry: { count: 0 },
          scheduler: { now: () => clock, schedule: asapScheduler.schedule.bind(asapScheduler) },
        });
        const handedOut = new Map<string, string[]>(KEYS.map((k) => [k, []]));
        const waiters: Array<{ settled: boolean }> = [];
        const subscribers: Array<{ settled: boolean }> = [];
        const controllers: AbortController[] = [];
        const subscriptions: Subscription[] = [];
        const received = (forKey: string, token: Token): void => {
          if (!token.value.startsWith(`${forKey}#`)) violations.push(`${forKey} got ${token.value}`);
          handedOut.get(forKey)?.push(token.value);
        };

        const run = (o: Op): void => {
          switch (o.kind) {
            case 'getToken': {
              const forKey = KEYS[o.key] as string;
              const controller = new AbortController();
              if (o.abortable) controllers.push(controller);
              const waiter = { settled: false };
              waiters.push(waiter);
              streams.getToken(forKey, o.abortable ? { signal: controller.signal } : {}).then(
                (token) => {
                  waiter.settled = true;
                  received(forKey, token);
                },
                () => (waiter.settled = true),
              );
              break;
            }
            case 'subscribe': {
              const forKey = KEYS[o.key] as string;
              const waiter = { settled: false };
              subscribers.push(waiter);
              subscriptions.push(
                streams.token$(forKey).subscribe({
                  next: (token) => {
                    waiter.settled = true;
                    received(forKey, token);
                  },
                  error: () => (waiter.settled = true),
                }),
              );
              break;
            }
            case 'unsubscribe': {
              // One that leaves before its first token has stopped waiting: it is settled too.
              const pick = o.pick % Math.max(1, subscriptions.length);
              subscriptions[pick]?.unsubscribe();
              if (subscribers[pick] !== undefined) subscribers[pick].settled = true;
              break;
            }
            case 'invalidate': {
              const forKey = KEYS[o.key] as string;
              // Any handed-out token, of any key: a token of another key must change nothing.
              const all = [...handedOut.values()].flat();
              const value = all[o.pick % Math.max(1, all.length)];
              if (value !== undefined) streams.invalidate(forKey, value);
              break;
            }
            case 'abort':
              controllers[o.pick % Math.max(1, controllers.length)]?.abort();
              break;
            case 'tick':
              clock += o.ms;
              break;
          }
        };

        await interleave(s, ops, run);
        expect(violations).to.deep.equal([]);
        expect(waiters.filter((w) => !w.settled), 'unsettled getToken() calls').to.have.length(0);
        // Every subscriber got its first token or an error; none hangs.
        expect(subscribers.filter((w) => !w.settled), 'subscribers still waiting').to.have.length(0);
        for (const subscription of subscriptions) subscription.unsubscribe();
        streams.close();
        expect(streams.size).to.equal(0);
      }),
      { numRuns: 500 },
    );
  });
});
