import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { charts, figure, parseLimit, type Chart, type RunInfo } from '../../bench/charts.js';
import type { ScenarioResult } from '../../bench/report.js';
import { elements, labelled, parseSvg, series, shownText, titles, without } from '../support/svg.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** What `npm run bench -- --json` writes. */
interface BenchJson {
  quick: boolean;
  machine: string;
  results: ScenarioResult[];
}

const texts = (svg: ReturnType<typeof parseSvg>, description: string): string[] =>
  series(svg, description).flatMap((group) => elements(group).filter((element) => element.localName === 'text').map(shownText));

const marks = (svg: ReturnType<typeof parseSvg>, description: string, name: string): number =>
  series(svg, description).flatMap((group) => elements(group).filter((element) => element.localName === name)).length;

/**
 * What is wrong with a chart, against the scenario result it claims to show: every
 * contender's series must be there, and every figure it labels must be the result's.
 */
function chartProblems(chart: Chart, result: ScenarioResult): string[] {
  const svg = parseSvg(chart.svg);
  const problems: string[] = [];
  const expectText = (description: string, text: string): void => {
    if (!texts(svg, description).includes(text)) problems.push(`${description}: no label '${text}'`);
  };
  const numberOf = (row: ScenarioResult['rows'][number], column: string): number => Number(row.figures[column]);
  if (chart.file === 'bench-coalescing.svg') {
    const largest = Math.max(...result.rows.map((row) => Number(row.case?.replace(/\D/g, ''))));
    for (const row of result.rows) {
      const n = Number(row.case?.replace(/\D/g, ''));
      const p50 = numberOf(row, 'release p50 ms');
      const line = series(svg, `release p50: ${row.contender}`);
      if (line.length === 0 || marks(svg, `release p50: ${row.contender}`, 'path') === 0) problems.push(`release p50: ${row.contender}: the series is missing`);
      if (!titles(svg).includes(`${row.contender} at N = ${n.toLocaleString('en-US')}: ${figure(p50)} ms`)) problems.push(`${row.contender} at N = ${n}: no point at ${figure(p50)} ms`);
      if (n === largest) expectText(`at N = ${largest.toLocaleString('en-US')}: ${row.contender}`, `${figure(p50)} ms  ${row.contender}`);
    }
  } else if (chart.file === 'bench-hot-path.svg') {
    const ratios = result.targets.filter((target) => parseLimit(target.limit) !== undefined);
    if (marks(svg, 'ratios', 'rect') !== ratios.length) problems.push(`ratios: ${marks(svg, 'ratios', 'rect')} bars for ${ratios.length} ratios`);
    for (const ratio of ratios) expectText('ratio labels', `${figure(ratio.value)}× (limit ${ratio.limit})`);
  } else if (chart.file === 'bench-http-overhead.svg') {
    const clients = result.rows.filter((row) => Number.isFinite(numberOf(row, 'req/s p50')));
    if (marks(svg, 'requests per second', 'rect') !== clients.length) problems.push(`requests per second: ${marks(svg, 'requests per second', 'rect')} bars for ${clients.length} clients`);
    for (const row of clients) expectText('client labels', `${figure(numberOf(row, 'req/s p50'))} req/s, ${figure(numberOf(row, 'client CPU µs/request p50'))} µs CPU each`);
  } else if (chart.file === 'bench-fleet.svg') {
    if (marks(svg, 'auth calls per round', 'rect') !== result.rows.length) problems.push(`auth calls per round: ${marks(svg, 'auth calls per round', 'rect')} bars for ${result.rows.length} modes`);
    for (const row of result.rows) {
      const [min, max] = String(row.figures['auth calls per round (min–max)']).split('–');
      expectText('auth call labels', `${max} per round (${min}–${max})`);
    }
  } else problems.push(`${chart.file}: no chart of that name`);
  return problems;
}

const SCENARIOS: Record<string, string> = {
  'bench-coalescing.svg': '1 coalescing',
  'bench-hot-path.svg': '3 hot path',
  'bench-http-overhead.svg': '4 HTTP overhead',
  'bench-fleet.svg': '6 fleet',
};

const resultFor = (run: BenchJson, file: string): ScenarioResult => {
  const result = run.results.find((each) => each.id === SCENARIOS[file]);
  if (result === undefined) throw new Error(`the run has no result for ${file}`);
  return result;
};

describe('the bench charts (--charts DIR, --write-docs)', () => {
  // The run that docs/performance.md shows, as --write-docs wrote it beside its charts.
  const documented = JSON.parse(readFileSync(join(root, 'docs/images/bench-run.json'), 'utf8')) as BenchJson;
  const info: RunInfo = { quick: documented.quick, machine: documented.machine, day: '2026-11-30' };

  it('draws the four charts from a run, each with every contender of its scenario and the run\'s figures', () => {
    const drawn = charts(documented.results, info);
    expect(drawn.map((chart) => chart.file)).to.deep.equal(Object.keys(SCENARIOS));
    for (const chart of drawn) expect(chartProblems(chart, resultFor(documented, chart.file)), chart.file).to.deep.equal([]);
  });

  it('fails when a series is missing, or a figure is not the run\'s', () => {
    const [coalescing, hotPath] = charts(documented.results, info);
    const noNaive = { ...coalescing!, svg: without(coalescing!.svg, (element) => element.getAttribute('aria-description') === 'release p50: naive') };
    expect(chartProblems(noNaive, resultFor(documented, noNaive.file))).to.include('release p50: naive: the series is missing');
    const result = resultFor(documented, hotPath!.file);
    const changed = { ...result, targets: result.targets.map((target, index) => (index === 0 ? { ...target, value: target.value + 1 } : target)) };
    expect(chartProblems(hotPath!, changed)).to.have.length(1);
  });

  it('leaves out the chart of a scenario that did not run', () => {
    const fleetSkipped = documented.results.map((result) => (result.id === '6 fleet' ? { ...result, rows: [], skipped: 'no redis-server' } : result));
    expect(charts(fleetSkipped, info).map((chart) => chart.file)).not.to.include('bench-fleet.svg');
  });

  it('shows in docs/performance.md the charts of the run its tables come from', () => {
    const doc = readFileSync(join(root, 'docs/performance.md'), 'utf8');
    const summary = /^A full run of (\S+) on (.+?), load average/m.exec(doc);
    expect(summary?.[2]).to.equal(documented.machine);
    for (const file of Object.keys(SCENARIOS)) {
      const svg = readFileSync(join(root, 'docs/images', file), 'utf8');
      const chart = { file, title: '', svg };
      expect(doc).to.match(new RegExp(`!\\[[^\\]]+\\]\\(images/${file.replace('.', '\\.')}\\)`));
      expect(chartProblems(chart, resultFor(documented, file)), file).to.deep.equal([]);
      expect(labelled(parseSvg(svg), 'subheading')).to.include(`npm run bench, full run of ${summary?.[1]} on ${documented.machine}.`);
    }
  });

  it('npm run bench -- --quick --only hot-path --charts DIR: writes the chart of the run it prints as JSON', async function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'bench-charts-'));
    try {
      const charts = join(dir, 'new', 'charts');
      const json = join(dir, 'bench.json');
      const argv = ['--import', 'tsx', '--conditions=rx-token-stream-source', 'bench/run.ts', '--quick', '--only', 'hot-path', '--charts', charts, '--json', json];
      const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, argv, { cwd: root, timeout: 55_000 }, (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr }),
        );
      });
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.include(`Wrote 1 chart into ${charts}: bench-hot-path.svg.`);
      expect(readdirSync(charts)).to.deep.equal(['bench-hot-path.svg']);
      const printed = JSON.parse(readFileSync(json, 'utf8')) as BenchJson;
      const svg = readFileSync(join(charts, 'bench-hot-path.svg'), 'utf8');
      expect(chartProblems({ file: 'bench-hot-path.svg', title: '', svg }, resultFor(printed, 'bench-hot-path.svg'))).to.deep.equal([]);
      expect(labelled(parseSvg(svg), 'subheading').at(-1)).to.match(/^npm run bench -- --quick of \d{4}-\d\d-\d\d on /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
