// A spec-wide guard: any unhandled promise rejection fails the run, naming the test
// during which it surfaced.
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => {
  unhandled.push(reason);
});

function check(): void {
  if (unhandled.length === 0) return;
  const reasons = unhandled
    .splice(0)
    .map((reason) => (reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)));
  throw new Error(`Unhandled promise rejection(s): ${reasons.join('; ')}`);
}

export const mochaHooks = {
  afterEach: check,
  afterAll: check,
};
