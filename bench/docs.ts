/**
 * `npm run bench -- --write-docs`: the tables of docs/performance.md come from a full run,
 * written between two markers, so that they are never pasted (or edited) by hand. The
 * prose around the markers is the doc's own.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Where the generated part of the doc begins and ends. */
export const BEGIN = '<!-- bench:begin (written by `npm run bench -- --write-docs`: edit the bench, not this part) -->';
export const END = '<!-- bench:end -->';

export const docsUrl = new URL('../docs/performance.md', import.meta.url);

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

/** Writes a full run's tables into docs/performance.md. */
export function writeDocs(generated: string): void {
  writeFileSync(docsUrl, withGenerated(readFileSync(docsUrl, 'utf8'), generated));
}
