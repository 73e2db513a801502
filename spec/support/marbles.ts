import { expect } from 'chai';
import sinon from 'sinon';
import { TestScheduler } from 'rxjs/testing';
import type { ObservableInput } from 'rxjs';
import { TokenStream, type Token, type TokenEvent, type TokenSourceContext, type TokenStreamOptions } from 'rx-token-stream';

/** What `testScheduler.run` hands its callback. */
export type RunHelpers = Parameters<Parameters<TestScheduler['run']>[0]>[0];

/**
 * Runs `body` in a fresh TestScheduler's virtual time. `stream(options)` builds a
 * TokenStream on that scheduler (closed after the run), recording its events.
 */
export function marbles(
  body: (helpers: RunHelpers & { scheduler: TestScheduler; stream: (options: TokenStreamOptions) => TokenStream; events: TokenEvent[] }) => void,
): void {
  const scheduler = new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
  const streams: TokenStream[] = [];
  const events: TokenEvent[] = [];
  try {
    scheduler.run((helpers) =>
      body({
        ...helpers,
        scheduler,
        events,
        stream: (options) => {
          const tokens = new TokenStream({ scheduler, ...options });
          tokens.events$.subscribe((event) => events.push(event));
          streams.push(tokens);
          return tokens;
        },
      }),
    );
  } finally {
    for (const tokens of streams) tokens.close();
  }
}

/** A stub of a source that answers its first call with `answers[0]`, its second with `answers[1]`, and so on. */
export function answering(...answers: ObservableInput<Token>[]): sinon.SinonStub<[TokenSourceContext], ObservableInput<Token>> {
  const source = sinon.stub<[TokenSourceContext], ObservableInput<Token>>();
  answers.forEach((answer, call) => source.onCall(call).returns(answer));
  return source;
}

/** A promise whose settling the test controls, for sources that must stay pending. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued promise callback run (no timers involved). */
export async function settle(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}
