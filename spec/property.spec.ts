import { expect } from 'chai';
import fc from 'fast-check';
import { Observable, asapScheduler, first } from 'rxjs';
import { TokenStream, type Token, type TokenSourceContext } from 'rx-token-stream';
import { interleave } from './support/interleave.js';

type Op =
  | { kind: 'getToken'; abortable: boolean }
  | { kind: 'subscribe' }
  | { kind: 'invalidate'; pick: number }
  | { kind: 'abort'; pick: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'close' };
type Outcome = { ok: true; lifetime: number } | { ok: false; retryable: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('getToken' as const), abortable: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'subscribe' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('invalidate' as const), pick: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 60 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
);
const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ ok: fc.constant(true as const), lifetime: fc.integer({ min: 1, max: 100 }) }) },
  { weight: 2, arbitrary: fc.record({ ok: fc.constant(false as const), retryable: fc.boolean() }) },
);

describe('TokenStream under random interleavings (property)', () => {
  it('keeps one source call in flight, settles every waiter, serves no stale token and calls the source only when needed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(op, { maxLength: 30 }), fc.array(outcome, { maxLength: 30 }), async (s, ops, outcomes) => {
        let clock = 0;
        let calls = 0;
        const violations: string[] = [];
        // The model: what the stream should hold, and how many source calls it needs.
        const model = { current: undefined as Token | undefined, busy: false, retryNext: false, needed: 0, closed: false };
        let inFlight = 0;

        const source = (context: TokenSourceContext): Observable<Token> => {
          calls += 1;
          inFlight += 1;
          if (inFlight > 1) violations.push(`call ${calls}: ${inFlight} source calls in flight`);
          const result = outcomes[calls - 1] ?? { ok: true, lifetime: 50 };
          const call = calls;
          return new Observable<Token>((subscriber) => {
            let open = true;
            const release = (): void => {
              if (open) inFlight -= 1;
              open = false;
            };
            context.signal.addEventListener('abort', release);
            void s.schedule(Promise.resolve(), `settle call ${call}`).then(() => {
              if (!open) return;
              release();
              if (result.ok) {
                const token = { value: `T${call}`, expiresAt: clock + result.lifetime };
                model.current = token;
                model.busy = false;
                model.retryNext = false;
                subscriber.next(token);
              } else {
                // retry.count is 1: a retryable failure on the first attempt is retried.
                const retried = result.retryable && !model.retryNext;
                model.retryNext = retried;
                model.busy = retried;
                if (retried) model.needed += 1;
                subscriber.error(Object.assign(new Error(`call ${call} failed`), { retryable: result.retryable, retryAfterMs: 0 }));
              }
            });
          });
        };

        const tokens = new TokenStream({
          source,
          refreshWindowMs: 0,
          timeoutMs: 1_000_000_000,
          retry: { count: 1, jitter: 0 },
          // Expiry on a clock the ops move; the immediate retry runs as a microtask.
          scheduler: { now: () => clock, schedule: asapScheduler.schedule.bind(asapScheduler) },
        });

        const handedOut: string[] = [];
        const controllers: AbortController[] = [];
        const waiters: Array<{ settled: boolean }> = [];
        const invalidated = new Set<string>();
        const check = (token: Token, when: string, at: number, stale: ReadonlySet<string>): void => {
          handedOut.push(token.value);
          if (token.expiresAt !== undefined && token.expiresAt <= at) violations.push(`${when}: ${token.value} expired`);
          if (stale.has(token.value)) violations.push(`${when}: ${token.value} was invalidated`);
        };
        const demand = (): void => {
          const fresh = model.current?.expiresAt !== undefined && model.current.expiresAt > clock;
          if (!model.closed && !model.busy && !fresh) {
            model.needed += 1;
            model.busy = true;
          }
        };

        const run = (o: Op): void => {
          switch (o.kind) {
            case 'getToken': {
              const controller = new AbortController();
              if (o.abortable) controllers.push(controller);
              const waiter = { settled: false };
              waiters.push(waiter);
              const at = clock;
              const stale = new Set(invalidated);
              demand();
              tokens.getToken(o.abortable ? { signal: controller.signal } : {}).then(
                (token) => {
                  waiter.settled = true;
                  check(token, 'getToken', at, stale);
                },
                () => (waiter.settled = true),
              );
              break;
            }
            case 'subscribe': {
              const waiter = { settled: false };
              waiters.push(waiter);
              demand();
              tokens.token$.pipe(first()).subscribe({
                next: (token) => check(token, 'token$', clock, invalidated),
                error: () => (waiter.settled = true),
                complete: () => (waiter.settled = true),
              });
              break;
            }
            case 'invalidate': {
              const value = handedOut[o.pick % Math.max(1, handedOut.length)];
              if (value === undefined) return;
              invalidated.add(value);
              if (!model.closed && model.current?.value === value) {
                model.current = undefined;
                if (!model.busy) {
                  model.needed += 1;
                  model.busy = true;
                }
              }
              tokens.invalidate(value);
              break;
            }
            case 'abort':
              controllers[o.pick % Math.max(1, controllers.length)]?.abort();
              break;
            case 'tick':
              clock += o.ms;
              break;
            case 'close':
              model.closed = true;
              tokens.close();
              break;
          }
        };

        await interleave(s, ops, run);

        expect(violations).to.deep.equal([]);
        expect(inFlight, 'calls still in flight').to.equal(0);
        expect(waiters.filter((w) => !w.settled), 'unsettled waiters').to.have.length(0);
        expect(calls, 'source calls vs refreshes needed').to.equal(model.needed);
        tokens.close();
      }),
      { numRuns: 300 },
    );
  });
});
