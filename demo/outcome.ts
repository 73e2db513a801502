import type { Verdict } from './results.js';
import type { Terminal } from './terminal.js';

/** What a run found: its figures as JSON, the same as text, and whether it kept its promise. */
export interface Outcome {
  /** The options the run shows (never a Redis URL, which may carry a password) and its services. */
  json: { options: object; services: object[] };
  /** The table and the sentence under it. */
  text: string;
  verdict: Verdict;
}

/**
 * Prints an outcome: with `--json`, the JSON alone on stdout (with the verdict in it);
 * otherwise the text and `OK: ...`. A failure is told on stderr either way.
 * @returns the exit code: 0 when the run kept its promise, 1 otherwise.
 */
export function printOutcome(outcome: Outcome, json: boolean, out: Terminal): number {
  const { verdict } = outcome;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...outcome.json, ...verdict }, null, 2)}\n`);
  } else {
    if (outcome.text !== '') out.log(`\n${outcome.text}\n`);
    if (verdict.ok) out.log(`OK: ${verdict.reason}.`);
  }
  if (!verdict.ok) process.stderr.write(`demo failed: ${verdict.reason}\n`);
  return verdict.ok ? 0 : 1;
}
