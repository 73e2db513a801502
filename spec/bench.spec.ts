import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { BEGIN, END, docsUrl, withGenerated } from '../bench/docs.js';
import { passed, renderTargets, target, type ScenarioResult } from '../bench/report.js';
import { hotPath } from '../bench/scenarios/hot-path.js';
import { pairedRatio, percentiles, quantile, rotate } from '../bench/support/stats.js';

function scenario(...targets: ScenarioResult['targets']): ScenarioResult {
  return { id: 'x', title: 'x', rows: [], targets };
}

describe('bench report', () => {
  const countMiss = target('auth calls', 2, '= 1', 'count', (v) => v === 1);
  const measureMiss = target('ratio', 0.8, '≥ 0.95', 'measure', (v) => v >= 0.95);
  const infoMiss = target('token$ ratio', 16, '≤ 1.5', 'info', (v) => v <= 1.5);
  const met = target('failed requests', 0, '= 0', 'count', (v) => v === 0);

  it('fails a --quick run on a missed count only, never on a missed timing or heap measure', () => {
    expect(passed([scenario(met, measureMiss, infoMiss)], true)).to.equal(true);
    expect(passed([scenario(met, countMiss)], true)).to.equal(false);
  });

  it('fails a full run on a missed measure too, but never on an info figure', () => {
    expect(passed([scenario(met, measureMiss)], false)).to.equal(false);
    expect(passed([scenario(met, infoMiss)], false)).to.equal(true);
  });

  it('counts a figure that could not be measured (NaN) as missed', () => {
    expect(target('ratio', Number.NaN, '≥ 0.5', 'measure', (v) => !(v < 0.5)).pass).to.equal(false);
  });

  it('prints PASS or FAIL per target and says which ones --quick does not gate', () => {
    const table = renderTargets([scenario(met, measureMiss)], true);
    expect(table).to.match(/failed requests .*\| count +\| PASS/);
    expect(table).to.match(/ratio .*\| not gated \(--quick\) \| FAIL/);
  });
});

describe('bench statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(samples, 0.5)).to.equal(50);
    expect(percentiles(samples)).to.deep.equal({ p50: 50, p99: 99 });
    expect(quantile([], 0.5)).to.be.NaN;
  });

  it('takes the median of round-by-round ratios, so that one slow round on both sides cancels out', () => {
    // Round 2 ran while the machine was busy: both sides took 10× as long.
    expect(pairedRatio([2, 20, 2], [1, 10, 1])).to.equal(2);
    expect(pairedRatio([1], [])).to.be.NaN;
  });

  it('rotates the contenders so that each runs first in turn', () => {
    expect([0, 1, 2].map((round) => rotate(['a', 'b', 'c'], round)[0])).to.deep.equal(['a', 'b', 'c']);
  });
});

describe('bench --write-docs', () => {
  const doc = `# Performance\n\nprose before\n\n${BEGIN}\n\nold tables\n\n${END}\n\nprose after\n`;

  it('replaces only what stands between the markers, and a second write changes nothing more', () => {
    const once = withGenerated(doc, '### 1. new tables\n');
    expect(once).to.equal(`# Performance\n\nprose before\n\n${BEGIN}\n\n### 1. new tables\n\n${END}\n\nprose after\n`);
    expect(withGenerated(once, '### 1. new tables')).to.equal(once);
  });

  it('refuses a doc without its pair of markers', () => {
    expect(() => withGenerated('# Performance\n', 'x')).to.throw(/markers/);
    expect(() => withGenerated(`${END}\n${BEGIN}\n`, 'x')).to.throw(/markers/);
    expect(() => withGenerated(`${BEGIN}\n${BEGIN}\n${END}\n`, 'x')).to.throw(/markers/);
    expect(() => withGenerated(readFileSync(docsUrl, 'utf8'), 'x')).not.to.throw();
  });

  it('exits 2 at once, writing nothing, when asked to write the docs from a partial run', async () => {
    const before = readFileSync(docsUrl, 'utf8');
    const root = fileURLToPath(new URL('..', import.meta.url));
    const runs = await Promise.all(
      [['--quick', '--write-docs'], ['--write-docs', '--only', 'storm']].map(
        (args) =>
          new Promise<{ code: number | null; stderr: string }>((resolve) => {
            execFile(process.execPath, ['--import', 'tsx', '--conditions=rx-token-stream-source', 'bench/run.ts', ...args], { cwd: root, timeout: 20_000 }, (error, _stdout, stderr) =>
              resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stderr }),
            );
          }),
      ),
    );
    for (const run of runs) {
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.match(/^bench: --write-docs records a full run/);
      expect(run.stderr.trimEnd().split('\n')).to.have.length(1);
    }
    expect(readFileSync(docsUrl, 'utf8')).to.equal(before);
  });
});

describe('bench --charts', () => {
  it('exits 2 at once when --charts has no folder', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', '--conditions=rx-token-stream-source', 'bench/run.ts', '--quick', '--charts'], { cwd: root, timeout: 20_000 }, (error, _stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stderr }),
      );
    });
    expect(run.code, run.stderr).to.equal(2);
    expect(run.stderr).to.equal('bench: --charts needs a folder to write the charts into, such as --charts charts/\n');
  });
});

describe('bench hot path', () => {
  it('holds token$.pipe(first()) to 0.8x of a bare RxJS first() subscription measured in the same run, and getToken() to 0.5x of a memoized promise', async function () {
    this.timeout(60_000);
    const result = await hotPath({ quick: true, progress: () => {} });
    expect(result.targets.map((t) => [t.name, t.limit, t.gate])).to.deep.equal([
      ['rx-token-stream getToken(): ops/s / memoized', '≥ 0.5', 'measure'],
      ['rx-token-stream token$.pipe(first()): ops/s / bare RxJS first()', '≥ 0.8', 'measure'],
    ]);
    const floor = result.rows.find((row) => row.contender.startsWith('reference: new Observable'));
    expect(floor?.figures['ratio to bare RxJS first() (p50 of rounds)']).to.equal(1);
  });
});
