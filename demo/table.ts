import type { Figures, ServiceReport } from './results.js';

const columns = ['round', 'service', 'requests', 'auth calls', '401s seen', 'failed', 'p50 ms', 'p99 ms'] as const;

/**
 * The side-by-side table: one row per service and round, then one per service in total.
 * Plain text, so that it reads the same in a terminal, a pipe and the README.
 */
export function renderTable(services: ServiceReport[]): string {
  return textTable(
    columns,
    roundGroups(services, (label, service, figures) => cells(label, service.name, figures)),
  );
}

/**
 * The rows of a side-by-side table, in groups: for each round, one row per service that ran
 * it, labelled `1 sequential` on the first; then one row per service in total.
 */
export function roundGroups<S extends { rounds: readonly { round: number; mode: string }[]; total: unknown }>(
  services: readonly S[],
  cells: (label: string, service: S, figures: S['rounds'][number] | S['total']) => string[],
): string[][][] {
  const roundCount = Math.max(0, ...services.map((service) => service.rounds.length));
  const groups = Array.from({ length: roundCount }, (_, index) =>
    services.flatMap((service, position) => {
      const round = service.rounds[index];
      return round === undefined ? [] : [cells(position === 0 ? `${round.round} ${round.mode}` : '', service, round)];
    }),
  );
  groups.push(services.map((service, position) => cells(position === 0 ? 'total' : '', service, service.total)));
  return groups;
}

/**
 * Rows in groups, with a rule under the titles and between groups. The first `labels`
 * columns are text, to the left; the others are numbers, to the right, so the digits line up.
 */
export function textTable(titles: readonly string[], groups: readonly (readonly string[])[][], labels = 2): string {
  const rows = groups.flat();
  const widths = titles.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) => (column < labels ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  const body = groups.filter((group) => group.length > 0).flatMap((group, index) => [...(index > 0 ? [rule] : []), ...group.map(line)]);
  return [line(titles), rule, ...body].join('\n');
}

/**
 * One sentence naming what the numbers show: the first service without a `TokenStream`
 * (the baseline) against each service that has one.
 */
export function summarize(services: ServiceReport[], parallel: number): string {
  const baseline = services.find((service) => service.rotations === undefined);
  const reactive = services.filter((service) => service.rotations !== undefined);
  if (baseline === undefined || reactive.length === 0) return '';
  const busiest = Math.max(0, ...baseline.rounds.filter((round) => round.mode === 'parallel').map((round) => round.authCalls));
  const clauses = reactive.map(({ name, rotations, total, processes, shared }) => {
    const rejections = total.unauthorized === 0 ? 'sees no 401' : `retries its ${total.unauthorized} 401s with the next token`;
    const count = processes === undefined ? '' : `${processes} process${processes === 1 ? '' : 'es'}`;
    const scope = processes === undefined ? '' : shared ? ` shared by its ${count}` : ` in each of its ${count}`;
    const calls =
      total.authCalls === rotations
        ? `calls it once per token rotation${scope} (${rotations} rotations, ${total.authCalls} calls)`
        : `made ${total.authCalls} calls for ${rotations} token rotations${scope}`;
    return `${name} ${calls} and ${rejections}`;
  });
  const across = baseline.processes === undefined ? '' : ` across ${baseline.processes} process${baseline.processes === 1 ? '' : 'es'}`;
  return (
    `What it shows: when the token expires under ${parallel} parallel requests${across}, ${baseline.name} calls the auth ` +
    `server once per request that sees a 401 (up to ${busiest} times a round, ${baseline.total.authCalls} in all); ` +
    `${clauses.join('; ')}.`
  );
}

function cells(label: string, name: string, figures: Figures): string[] {
  return [
    label,
    name,
    String(figures.requests),
    String(figures.authCalls),
    String(figures.unauthorized),
    String(figures.failed),
    figures.p50Ms.toFixed(1),
    figures.p99Ms.toFixed(1),
  ];
}
