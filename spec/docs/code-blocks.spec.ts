import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { expect } from 'chai';
import { codeBlocks, describeBlock, isTypeScript, markdownFiles, root, type CodeBlock } from './markdown.js';

interface Diagnostic {
  /** The line in the Markdown file, or undefined for a line of the block's preamble. */
  line: number | undefined;
  text: string;
}

/** A block's place in the module it is checked in. */
interface Segment {
  block: CodeBlock;
  /** The module line of the block's first line, from 1. */
  from: number;
  lines: number;
}

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * Lays the blocks out as modules. A block is a module of its own, after the declarations of
 * its `<!-- ts-preamble -->`; the blocks that show one file (`<!-- from: spec/docs/x.ts -->`)
 * are that file's module together, under its name, so that another block can import it.
 */
function modules(blocks: readonly CodeBlock[]): Map<string, { text: string; segments: Segment[] }> {
  const laid = new Map<string, { text: string; segments: Segment[] }>();
  blocks.forEach((block, position) => {
    const from = block.notes['from'];
    const name = from === undefined ? `block-${position + 1}.ts` : basename(from);
    const module = laid.get(name) ?? { text: block.notes['ts-preamble'] === undefined ? '' : `${block.notes['ts-preamble']}\n`, segments: [] };
    const lines = block.code.split('\n').length - 1;
    module.segments.push({ block, from: module.text.split('\n').length, lines });
    module.text += block.code;
    laid.set(name, module);
  });
  return laid;
}

/**
 * Every ```ts block of README.md and docs/ is type-checked against the package, as a user's
 * module that imports it by name ('rx-token-stream', 'rx-token-stream/redis'). The modules
 * are written to a scratch folder inside the repository, since only there does the
 * package's name resolve to itself.
 */
describe('README and docs code blocks', () => {
  const blocks = markdownFiles().flatMap(codeBlocks).filter(isTypeScript);
  const diagnostics = new Map<CodeBlock, Diagnostic[]>(blocks.map((block) => [block, []]));
  let scratch: string;
  let unparsed = '';

  before(async function () {
    this.timeout(60_000);
    scratch = mkdtempSync(join(root, '.docs-check-'));
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({ extends: '../tsconfig.json', compilerOptions: { noEmit: true, types: ['node', 'mocha'] }, include: ['*.ts'] }),
    );
    const laid = modules(blocks);
    // `export {}` makes each one a module, so that top-level await works and none shares a scope.
    for (const [name, { text }] of laid) writeFileSync(join(scratch, name), `${text}export {};\n`);
    const output = await new Promise<string>((done) => {
      execFile(process.execPath, [tsc, '-p', scratch, '--pretty', 'false'], { cwd: root }, (_error, stdout, stderr) =>
        done(`${stdout}${stderr}`),
      );
    });
    let last: Diagnostic | undefined;
    for (const line of output.split('\n')) {
      const match = /^(.+?)\((\d+),\d+\): error (TS\d+: .*)$/.exec(line);
      if (match !== null) {
        const path = resolve(root, match[1] as string);
        const module = dirname(path) === scratch ? laid.get(basename(path)) : undefined;
        // An error in lib/ itself is `npm run typecheck`'s to report, not this spec's.
        last = undefined;
        if (module === undefined) continue;
        const at = Number(match[2]);
        const segment = module.segments.find((s) => at >= s.from && at < s.from + s.lines) ?? module.segments[0];
        if (segment === undefined) continue;
        const inBlock = at >= segment.from && at < segment.from + segment.lines;
        last = { line: inBlock ? segment.block.line + 1 + at - segment.from : undefined, text: match[3] as string };
        diagnostics.get(segment.block)?.push(last);
      } else if (/^\s/.test(line)) {
        if (last !== undefined) last.text += `\n${line}`;
      } else if (line.trim() !== '') {
        unparsed += `${line}\n`;
      }
    }
  });

  after(() => {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  it('finds the blocks, and tsc prints nothing but diagnostics', () => {
    expect(blocks.length).to.be.greaterThan(10);
    expect(unparsed, 'tsc printed something other than a diagnostic').to.equal('');
  });

  for (const block of blocks) {
    it(`${describeBlock(block)} type-checks`, () => {
      const found = diagnostics.get(block) ?? [];
      const report = found.map((d) => `  ${d.line === undefined ? 'preamble' : `${block.file}:${d.line}`}: ${d.text}`).join('\n');
      expect(found, `${describeBlock(block)} does not type-check:\n${report}`).to.deep.equal([]);
    });
  }
});
