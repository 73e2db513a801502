/** The figures a scenario hands back, and how the bench prints them. */

/** One line of figures: a contender (or a case) in a scenario. */
export interface Row {
  /** Who was measured: a contender, or the library in one mode. */
  contender: string;
  /** The case within the scenario (`N=1000`), if it has several. */
  case?: string;
  /** Counts, ratios and the timings they come from, by column name. */
  figures: Record<string, number | string>;
}

/**
 * What a target gates: a count gates every run; a measure (a timing ratio, a heap delta)
 * only the full run, since a smoke run on a busy machine must not fail on noise; an `info`
 * figure (shown against a target it is not held to) gates nothing.
 */
export type Gate = 'count' | 'measure' | 'info';

/** A target from the issue, with what this run measured. */
export interface Target {
  /** What is measured, in words (`auth calls at N = 10,000`). */
  name: string;
  /** The measured figure. */
  value: number;
  /** The limit, in words (`= 1`, `≥ 0.95`). */
  limit: string;
  pass: boolean;
  gate: Gate;
}

/** Everything one scenario reports. */
export interface ScenarioResult {
  id: string;
  title: string;
  rows: Row[];
  targets: Target[];
  /** Why it did not run, when it did not. */
  skipped?: string;
  /** How long the scenario took, in seconds (for the record, never a target). */
  seconds?: number;
}

/** Builds a target from a measured value and a predicate on it. */
export function target(name: string, value: number, limit: string, gate: Gate, pass: (value: number) => boolean): Target {
  return { name, value, limit, gate, pass: Number.isFinite(value) && pass(value) };
}

function format(value: number | string): string {
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function table(header: string[], lines: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...lines.map((line) => (line[column] ?? '').length)));
  const render = (cells: string[]): string => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [render(header), render(widths.map((width) => '-'.repeat(width))), ...lines.map(render)].join('\n');
}

/** The figures of one scenario as a Markdown table. */
export function renderScenario(result: ScenarioResult): string {
  const title = `### ${result.title}${result.seconds === undefined ? '' : ` (${result.seconds.toFixed(1)} s)`}`;
  if (result.skipped !== undefined) return `${title}\n\nSkipped: ${result.skipped}`;
  const columns = [...new Set(result.rows.flatMap((row) => Object.keys(row.figures)))];
  const withCase = result.rows.some((row) => row.case !== undefined);
  const header = ['contender', ...(withCase ? ['case'] : []), ...columns];
  const lines = result.rows.map((row) => [
    row.contender,
    ...(withCase ? [row.case ?? ''] : []),
    ...columns.map((column) => (row.figures[column] === undefined ? '' : format(row.figures[column]))),
  ]);
  return `${title}\n\n${table(header, lines)}`;
}

/** The one table of targets, PASS or FAIL each, that ends every run. */
export function renderTargets(results: readonly ScenarioResult[], quick: boolean): string {
  const lines = results.flatMap((result) =>
    result.targets.map((t) => [
      result.id,
      t.name,
      format(t.value),
      t.limit,
      t.gate === 'info' ? 'not gated' : t.gate === 'measure' && quick ? 'not gated (--quick)' : t.gate,
      t.pass ? 'PASS' : t.gate === 'info' ? 'miss (info)' : 'FAIL',
    ]),
  );
  return table(['scenario', 'target', 'measured', 'limit', 'gates', 'result'], lines);
}

/** Whether the run passes: every count target, and every ratio target on a full run. */
export function passed(results: readonly ScenarioResult[], quick: boolean): boolean {
  return results.every((result) =>
    result.targets.every((t) => t.pass || t.gate === 'info' || (quick && t.gate === 'measure')),
  );
}
