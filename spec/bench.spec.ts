import { expect } from 'chai';
import { passed, renderTargets, target, type ScenarioResult } from '../bench/report.js';
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
