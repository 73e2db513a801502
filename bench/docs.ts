/**
 * `npm run bench -- --write-docs`: the tables and charts of docs/performance.md come from a
 * full run, written between two markers, so that they are never pasted (or edited) by hand.
 * The prose around the markers is the doc's own.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Chart } from './charts.js';

/** Where the generated part of the doc begins and ends. */
export const BEGIN = '<!-- bench:begin (written by `npm run bench -- --write-docs`: edit the bench, not this part) -->';
export const END = '<!-- bench:end -->';

export const docsUrl = new URL('../docs/performance.md', import.meta.url);

/** Where the doc's charts are, as `images/<file>` from the doc. */
export const docsImagesUrl = new URL('../docs/images/', import.meta.url);

/** The JSON of the documented run, beside its charts: what they were drawn from. */
export const RUN_JSON = 'bench-run.json';

/** The charts as Markdown images, linked from docs/performance.md. */
export function chartsMarkdown(charts: readonly Chart[]): string {
  return charts.map((chart) => `![${chart.title}](images/${chart.file})`).join('\n\n');
}

/**
 * `doc` with what stands between its markers replaced by `generated`.
 *
 * @throws {Error} when the markers are missing or out of order: nothing is written then.
 */
export function withGenerated(doc: string, generated: string): string {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin === -1 || end === -1 || end < begin || doc.indexOf(BEGIN, begin + 1) !== -1) {
    throw new Error(`docs/performance.md must hold one pair of markers, ${BEGIN} then ${END}`);
  }
  return `${doc.slice(0, begin + BEGIN.length)}\n\n${generated.trim()}\n\n${doc.slice(end)}`;
}

/**
 * Writes a full run into the docs: its tables and the links to its charts into
 * docs/performance.md; the charts, and the run's JSON they were drawn from, into docs/images/.
 */
export function writeDocs(run: { summary: string; charts: readonly Chart[]; tables: string; json: string }): void {
  mkdirSync(docsImagesUrl, { recursive: true });
  for (const chart of run.charts) writeFileSync(new URL(chart.file, docsImagesUrl), chart.svg);
  writeFileSync(new URL(RUN_JSON, docsImagesUrl), run.json);
  const generated = [run.summary, chartsMarkdown(run.charts), run.tables].filter((part) => part !== '').join('\n\n');
  writeFileSync(docsUrl, withGenerated(readFileSync(docsUrl, 'utf8'), generated));
}
