// Coverage comes from this process only. Node hands NODE_V8_COVERAGE on to every child
// it starts (a forked fixture, the demo), tsx compiles lib differently for an ESM child,
// and c8, merging both reports of one file, marks lines that ran here as uncovered.
// This process keeps writing its own report: Node read the directory at startup.
delete process.env.NODE_V8_COVERAGE;

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
