import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { ServiceReport } from '../../demo/results.js';
import type { Lane, TimelineRecord } from '../../demo/timeline.js';
import { renderTimeline } from '../../demo/timeline-svg.js';
import { redisUrl } from '../support/redis-server.js';
import { parseSvg, series, shownText, titled, titles, without } from '../support/svg.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** What the demo's JSON says of a service, as far as the picture shows it. */
type Counted = Pick<ServiceReport, 'name' | 'rotations'> & { total: Pick<ServiceReport['total'], 'requests' | 'authCalls' | 'unauthorized' | 'failed'> };

const count = (text: string | undefined): number => Number(/^[\d,]+/.exec(text ?? '')?.[0].replace(/,/g, '') ?? Number.NaN);

/** The totals a service's lanes must show: the JSON's counts. */
function expectedTotals(service: Counted): Array<[row: string, total: number | string]> {
  const { requests, authCalls, unauthorized, failed } = service.total;
  return [
    ['sent', requests],
    ['401', unauthorized],
    // Both services retry a 401 once.
    ['retried', unauthorized],
    ['done', requests - failed],
    ...(failed > 0 ? [['failed', failed] as [string, number]] : []),
    ['auth call', authCalls],
    ['new token', service.rotations ?? 'no TokenStream'],
  ];
}

/**
 * What is wrong with a timeline, against the run's JSON: each lane's total must be the
 * JSON's count, each drawn series must add up to its total, and a lane with events must
 * have its series. Without `services`, only the picture's own totals are the reference.
 */
function timelineProblems(text: string, services?: readonly Counted[]): string[] {
  const svg = parseSvg(text);
  const problems: string[] = [];
  // "naive auth call" -> "201", from the labels titled "naive auth call in all".
  const totals = new Map(
    titles(svg).flatMap((title) => {
      const key = /^(.+) in all$/.exec(title)?.[1];
      const [label] = titled(svg, title);
      return key === undefined || label === undefined ? [] : [[key, shownText(label)] as const];
    }),
  );
  const names = services?.map((service) => service.name) ?? [...new Set([...totals.keys()].map((key) => key.split(' ')[0] ?? ''))];
  if (names.length === 0) problems.push('no service has a total');
  for (const name of names) {
    const service = services?.find((each) => each.name === name);
    for (const [row, total] of service === undefined ? [] : expectedTotals(service)) {
      const label = totals.get(`${name} ${row}`);
      if (label === undefined) problems.push(`${name} ${row}: no total`);
      else if (typeof total === 'string' ? label !== total : count(label) !== total) problems.push(`${name} ${row}: the total says ${label}, the run ${total}`);
    }
    for (const [key, label] of totals) {
      const shown = count(label);
      // A fleet's new tokens are the most one process received; its marks are every process's.
      if (!key.startsWith(`${name} `) || Number.isNaN(shown) || label.endsWith('in each process')) continue;
      const groups = series(svg, key);
      const drawn = groups.flatMap((group) => titles(group)).reduce((sum, title) => sum + count(/: (\d+) between/.exec(title)?.[1]), 0);
      if (shown > 0 && groups.length === 0) problems.push(`${key}: the series is missing`);
      else if (drawn !== shown) problems.push(`${key}: the marks hold ${drawn} events, the total says ${shown}`);
    }
    const bursts = titled(svg, `${name} auth call burst`).reduce((sum, label) => sum + count(shownText(label)), 0);
    const authCalls = service?.total.authCalls ?? count(totals.get(`${name} auth call`));
    if (bursts !== authCalls) problems.push(`${name} auth call: the bursts add up to ${bursts}, the total is ${authCalls}`);
  }
  return problems;
}

/** The bursts' labels of one service, as numbers. */
const burstsOf = (text: string, name: string): number[] => titled(parseSvg(text), `${name} auth call burst`).map((label) => count(shownText(label)));

/**
 * A run made up for the picture: one round of `parallel` requests at t = 1 s, where naive
 * calls the auth server once per 401 and reactive once; `at` gives each event its time.
 */
function madeUpRun(parallel: number): { record: TimelineRecord; services: Counted[] } {
  const startedAt = 1_000_000;
  const at = (seconds: number): number => startedAt + seconds * 1000;
  const spread = (lane: Lane, service: string, from: number, to: number, n = parallel) =>
    Array.from({ length: n }, (_, i) => ({ service, lane, at: at(from + ((to - from) * i) / n) }));
  const events = [
    ...spread('auth call', 'naive', 0.1, 0.15, 1),
    ...spread('sent', 'naive', 1, 1.01),
    ...spread('401', 'naive', 1.02, 1.05),
    ...spread('auth call', 'naive', 1.03, 1.06),
    ...spread('retried', 'naive', 1.1, 1.2),
    ...spread('done', 'naive', 1.12, 1.25),
    ...spread('auth call', 'reactive', 0.1, 0.15, 1),
    ...spread('auth call', 'reactive', 1.3, 1.31, 1),
    ...spread('sent', 'reactive', 1.3, 1.31),
    ...spread('done', 'reactive', 1.36, 1.4),
  ];
  const record: TimelineRecord = {
    services: ['naive', 'reactive'],
    streams: ['reactive'],
    startedAt,
    endedAt: at(1.5),
    parallel,
    processes: 1,
    ttlMs: 1000,
    authLatencyMs: 50,
    bursts: [
      { service: 'naive', round: 1, mode: 'sequential', startedAt: at(1), endedAt: at(1.25) },
      { service: 'reactive', round: 1, mode: 'sequential', startedAt: at(1.3), endedAt: at(1.4) },
    ],
    events,
    rotations: [{ service: 'reactive', process: 1, at: at(0.16) }, { service: 'reactive', process: 1, at: at(1.36) }],
  };
  const services: Counted[] = [
    { name: 'naive', total: { requests: parallel, authCalls: parallel + 1, unauthorized: parallel, failed: 0 } },
    { name: 'reactive', rotations: 2, total: { requests: parallel, authCalls: 2, unauthorized: 0, failed: 0 } },
  ];
  return { record, services };
}

describe('the demo timeline (--svg)', () => {
  describe('drawn from a run', () => {
    it('shows every lane of every service with the run\'s counts', () => {
      const { record, services } = madeUpRun(100);
      const text = renderTimeline(record);
      expect(timelineProblems(text, services)).to.deep.equal([]);
      expect(burstsOf(text, 'naive')).to.deep.equal([1, 100]);
      expect(burstsOf(text, 'reactive')).to.deep.equal([1, 1]);
    });

    it('fails when a series is missing, or a total is not the run\'s', () => {
      const { record, services } = madeUpRun(100);
      const text = renderTimeline(record);
      const noAuthCalls = without(text, (element) => element.getAttribute('aria-description') === 'naive auth call');
      expect(timelineProblems(noAuthCalls, services)).to.deep.equal(['naive auth call: the series is missing']);
      const wrongTotal = services.map((service) => (service.name === 'reactive' ? { ...service, total: { ...service.total, authCalls: 3 } } : service));
      expect(timelineProblems(text, wrongTotal)).to.include('reactive auth call: the total says 2, the run 3');
      const noBursts = without(text, (element) => element.getAttribute('aria-description') === 'auth call bursts');
      expect(timelineProblems(noBursts, services)).to.include('naive auth call: the bursts add up to 0, the total is 101');
    });

    it('counts 2,000 requests into bins: the picture stays as large as for 100', () => {
      const small = renderTimeline(madeUpRun(100).record);
      const { record, services } = madeUpRun(2_000);
      const large = renderTimeline(record);
      expect(timelineProblems(large, services)).to.deep.equal([]);
      expect(burstsOf(large, 'naive')).to.deep.equal([1, 2_000]);
      expect(large.length).to.be.below(small.length * 1.2);
    });
  });

  describe('npm run demo -- --json --svg FILE, run as a child process', () => {
    let dir: string;
    const runs: Array<{ args: string[]; json: string; svg: string; code: number | null; stderr: string }> = [];
    const small = ['--parallel', '20', '--rounds', '2', '--ttl', '1s', '--auth-latency', '50ms'];

    before(async function () {
      this.timeout(45_000);
      dir = mkdtempSync(join(tmpdir(), 'demo-svg-'));
      const url = redisUrl();
      const plans = [small, ...(url === undefined ? [] : [['--processes', '2', '--redis', url, ...small]])];
      runs.push(
        ...(await Promise.all(
          plans.map((args, index) => {
            const svg = join(dir, `timeline-${index}.svg`);
            const argv = ['--import', 'tsx', '--conditions=rx-token-stream-source', 'demo/run.ts', '--json', '--svg', svg, ...args];
            return new Promise<(typeof runs)[number]>((resolve) => {
              execFile(process.execPath, argv, { cwd: root, timeout: 40_000, env: { ...process.env, NODE_OPTIONS: '' } }, (error, stdout, stderr) => {
                const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
                resolve({ args, json: stdout, svg, code, stderr });
              });
            });
          }),
        )),
      );
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('draws the run it prints: each lane\'s total is the JSON\'s count, and the marks add up to it', () => {
      const [run] = runs;
      expect(run?.code, run?.stderr).to.equal(0);
      const report = JSON.parse(run?.json ?? '') as { services: ServiceReport[] };
      const text = readFileSync(run?.svg ?? '', 'utf8');
      expect(timelineProblems(text, report.services)).to.deep.equal([]);
      expect(run?.stderr).to.match(/^Wrote the timeline to .*timeline-0\.svg\.$/m);
      // One auth call at a time for the TokenStream; a burst of them for naive's parallel round.
      expect(burstsOf(text, 'reactive').every((calls) => calls === 1)).to.equal(true);
      expect(Math.max(...burstsOf(text, 'naive'))).to.be.greaterThan(1);
    });

    it('draws the fleet and the new tokens of every process with --processes', function () {
      const run = runs[1];
      if (run === undefined) this.skip();
      const report = JSON.parse(run?.json ?? '') as { services: ServiceReport[] };
      const text = readFileSync(run?.svg ?? '', 'utf8');
      expect(report.services.map((service) => service.name)).to.deep.equal(['naive', 'reactive', 'fleet']);
      expect(timelineProblems(text, report.services)).to.deep.equal([]);
      expect(shownText(titled(parseSvg(text), 'fleet new token in all')[0]!)).to.match(/ in each process$/);
      // The fleet's processes share one token: never two auth calls at once.
      expect(burstsOf(text, 'fleet').every((calls) => calls === 1)).to.equal(true);
    });
  });

  it('shows in the README a picture drawn by the demo: every series adds up to its total', () => {
    const text = readFileSync(join(root, 'docs/images/demo-timeline.svg'), 'utf8');
    expect(timelineProblems(text)).to.deep.equal([]);
    expect(readFileSync(join(root, 'README.md'), 'utf8')).to.include('](docs/images/demo-timeline.svg)');
  });
});
