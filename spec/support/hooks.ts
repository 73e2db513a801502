// A spec-wide guard: any unhandled promise rejection fails the run, naming the test
// during which it surfaced.
const unhandled = new Set<unknown>();
// A Set, because mocha re-emits each unhandled rejection to the other listeners.
process.on('unhandledRejection', (reason) => {
  unhandled.add(reason);
});

function check(): void {
  if (unhandled.size === 0) return;
  const reasons = [...unhandled].map((reason) => (reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)));
  unhandled.clear();
  throw new Error(`Unhandled promise rejection(s): ${reasons.join('; ')}`);
}

export const mochaHooks = {
  afterEach: check,
  afterAll: check,
};
