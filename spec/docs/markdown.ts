import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = fileURLToPath(new URL('../..', import.meta.url));

/** One fenced code block of a Markdown file, with the HTML comments written just before it. */
export interface CodeBlock {
  /** The Markdown file, relative to the repository root (`docs/fleet.md`). */
  file: string;
  /** Its position among the file's blocks of the same language, from 1. */
  index: number;
  /** The line of its opening fence, from 1. */
  line: number;
  /** The fence's language (`ts`, `sh`, ...). */
  lang: string;
  /** The code, without the fences. */
  code: string;
  /**
   * What the comments before the block say, by keyword: `<!-- ts-preamble ... -->` gives
   * declarations to type-check it with, `<!-- install-check: name -->` names a block that
   * `.ci/run` runs with plain node, `<!-- from: spec/file.ts#region -->` names the spec region
   * the block shows.
   */
  notes: Record<string, string>;
}

const FENCE = /^```(\S*)\s*$/;
const NOTE = /^<!--\s*([a-z-]+)(?::|\s)\s*([\s\S]*?)\s*-->$/;

/** The code blocks of one Markdown file. */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  const counts = new Map<string, number>();
  let comment: string[] | undefined;
  let notes: Record<string, string> = {};
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] as string;
    if (comment !== undefined) {
      comment.push(line);
      if (line.includes('-->')) {
        addNote(notes, comment.join('\n'));
        comment = undefined;
      }
      continue;
    }
    if (line.startsWith('<!--')) {
      if (line.includes('-->')) addNote(notes, line);
      else comment = [line];
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence === null) {
      // Notes belong to the block right after them; blank lines in between are fine.
      if (line.trim() !== '') notes = {};
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && !/^```\s*$/.test(lines[i] as string); i += 1) body.push(lines[i] as string);
    const lang = fence[1] ?? '';
    const index = (counts.get(lang) ?? 0) + 1;
    counts.set(lang, index);
    blocks.push({ file, index, line: start + 1, lang, code: `${body.join('\n')}\n`, notes });
    notes = {};
  }
  return blocks;
}

function addNote(notes: Record<string, string>, comment: string): void {
  const match = NOTE.exec(comment.trim());
  if (match !== null) notes[match[1] as string] = match[2] as string;
}

/** README.md and every Markdown file under docs/, relative to the repository root. */
export function markdownFiles(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => relative(root, join(root, 'docs', name)));
  return ['README.md', ...docs];
}

/** Whether a block is TypeScript, and so type-checked. */
export const isTypeScript = (block: CodeBlock): boolean => block.lang === 'ts' || block.lang === 'typescript';

/** How a failure names a block: `README.md, ts block 3 (line 120)`. */
export const describeBlock = (block: CodeBlock): string => `${block.file}, ${block.lang} block ${block.index} (line ${block.line})`;
