// What the rotation specs share: a store that records when it saved, failures caught as
// values, and the check that no secret shows in what a caller or a log could see.
import { expect } from 'chai';
import { inspect } from 'node:util';
import type { CredentialStore, TokenEvent } from 'rx-token-stream';

/** `store` with some of its methods replaced: the rest are its own, bound to it. */
export function wrapStore(store: CredentialStore, overrides: Partial<CredentialStore>): CredentialStore {
  return {
    get: (key) => store.get(key),
    put: (key, credential) => store.put(key, credential),
    lease: (key, ttlMs) => store.lease(key, ttlMs),
    release: (key, fence) => store.release(key, fence),
    save: (key, expected, next) => store.save(key, expected, next),
    fail: (key, expected, failure) => store.fail(key, expected, failure),
    ...(store.changed === undefined ? {} : { changed: store.changed.bind(store) }),
    ...overrides,
  };
}

/** Wraps `store`, logging each completed save (and whether it won) to `log`. */
export function recordingStore(store: CredentialStore, log: string[]): CredentialStore {
  return wrapStore(store, {
    save: async (key, expected, next) => {
      const saved = await store.save(key, expected, next);
      log.push(saved ? 'saved' : 'save-lost');
      return saved;
    },
  });
}

/** A gate a spec opens by hand. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Polls a condition on real servers and processes, bounded. */
export async function until(done: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await done())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The error a promise rejects with; fails the spec when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('it resolved'),
    (error: unknown) => error,
  );
}

/** The `source` reports among `events`, as `kind` strings. */
export function reports(events: readonly TokenEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'source' ? [event.report.kind] : []));
}

/** Asserts that none of `secrets` shows in any view of `values`: message, util.inspect (hidden fields too), JSON. */
export function expectNoSecrets(values: readonly unknown[], secrets: readonly string[]): void {
  for (const value of values) {
    const views = [
      value instanceof Error ? value.message : '',
      inspect(value, { depth: Infinity, showHidden: true }),
      JSON.stringify(value) ?? '',
    ];
    for (const secret of secrets) {
      expect(secret.length, 'a secret to look for').to.be.above(8);
      for (const view of views) expect(view, 'a secret in what a log would show').not.to.include(secret);
    }
  }
}
