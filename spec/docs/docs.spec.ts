import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { expect } from 'chai';
import { codeBlocks, markdownFiles, root } from './markdown.js';

const read = (file: string): string => readFileSync(join(root, file), 'utf8');

/** The text of a Markdown file outside its code blocks and inline code. */
function prose(file: string): string {
  return read(file)
    .replace(/^```[\s\S]*?^```\s*$/gm, '')
    .replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

function anchors(file: string): Set<string> {
  const headings = read(file)
    .replace(/^```[\s\S]*?^```\s*$/gm, '')
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line));
  return new Set(headings.map((line) => slug(line.replace(/^#+ /, ''))));
}

/** Every relative link of a Markdown file: `[text](target)`, outside code. */
function links(file: string): string[] {
  return [...prose(file).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('README and docs', () => {
  it('keeps the README a landing page of at most 20 KB', () => {
    expect(statSync(join(root, 'README.md')).size).to.be.at.most(20 * 1024);
  });

  it('links every file under docs/ from the README', () => {
    const linked = new Set(links('README.md').map((target) => normalize(target.split('#')[0] as string)));
    for (const file of markdownFiles().slice(1)) expect([...linked], `README.md does not link ${file}`).to.include(file);
  });

  it('has no relative link to a missing file or heading', () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      for (const target of links(file)) {
        const [path = '', anchor] = target.split('#');
        const resolved = path === '' ? file : relative(root, join(root, dirname(file), path));
        if (!existsSync(join(root, resolved))) broken.push(`${file}: ${target} (no file ${resolved})`);
        else if (anchor !== undefined && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) {
          broken.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
        }
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it('numbers the guarantees 1, 2, 3, ... in one section headed Guarantees', () => {
    const readme = read('README.md');
    const section = /^## Guarantees\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
    const numbers = [...section.matchAll(/^(\d+)\. \*\*/gm)].map((match) => Number(match[1]));
    expect(numbers.length).to.be.greaterThan(10);
    expect(numbers).to.deep.equal(numbers.map((_, index) => index + 1));
  });

  it('shows whole files where a block says `from:`: its blocks, a blank line apart, are that file', () => {
    const shown = new Map<string, string[]>();
    for (const block of markdownFiles().flatMap(codeBlocks)) {
      const from = block.notes['from'];
      if (from !== undefined) shown.set(from, [...(shown.get(from) ?? []), block.code]);
    }
    expect([...shown.keys()]).to.include.members(['spec/docs/orders-tokens.ts', 'spec/docs/testing.spec.ts']);
    for (const [file, parts] of shown) {
      expect(parts.join('\n'), `the blocks from ${file} differ from it: copy it into the doc again`).to.equal(read(file));
    }
  });
});
