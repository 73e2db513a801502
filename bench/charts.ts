/**
 * `npm run bench -- --charts DIR`: SVG charts of a run, drawn from the same results that
 * fill the tables (and, with `--write-docs`, docs/performance.md): release time against N,
 * the hot-path ratios against their limits, HTTP overhead per client, and fleet auth calls.
 * A scenario that did not run (skipped, or left out by `--only`) has no chart.
 */
import * as Plot from '@observablehq/plot';
import { renderSvg } from '../demo/svg.js';
import type { Row, ScenarioResult, Target } from './report.js';

/** One chart, ready to be written. */
export interface Chart {
  /** The file name, the same on every run: `bench-coalescing.svg`. */
  file: string;
  /** The chart's title, also its alt text in docs/performance.md. */
  title: string;
  svg: string;
}

/** What every chart says under its title: which run it shows. */
export interface RunInfo {
  quick: boolean;
  machine: string;
  /** The day of the run, `2026-11-30`. */
  day: string;
}

/** A number as the charts' labels print it: 3 significant digits, thousands separated. */
export function figure(value: number): string {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 3 });
}

const WIDTH = 820;
const RX = '#0969da';
const PALETTE: Record<string, string> = {
  naive: '#cf222e',
  'seed pattern': '#bc4c00',
  'memoized promise': '#8c959f',
  'rx-token-stream getToken()': RX,
  'rx-token-stream token$.pipe(first())': '#54aeff',
};

const ran = (results: readonly ScenarioResult[], id: string): ScenarioResult | undefined =>
  results.find((result) => result.id === id && result.skipped === undefined && result.rows.length > 0);

const numberOf = (row: Row, column: string): number => {
  const value = row.figures[column];
  return typeof value === 'number' ? value : Number.NaN;
};

function subheading(run: RunInfo, ...what: string[]): string[] {
  return [...what, `${run.quick ? 'npm run bench -- --quick' : 'npm run bench, full run'} of ${run.day} on ${run.machine}.`];
}

/** The powers of ten that `values` span, for the ticks of a log scale. */
export function decades(values: readonly number[]): number[] {
  const low = Math.floor(Math.log10(Math.min(...values)));
  const high = Math.ceil(Math.log10(Math.max(...values)));
  return Array.from({ length: high - low + 1 }, (_, index) => 10 ** (low + index));
}

const extent = (values: readonly number[]): [number, number] => [Math.min(...values), Math.max(...values)];

/** Release time against N, log scales, one line per contender. */
function coalescing(result: ScenarioResult, run: RunInfo): Chart {
  const points = result.rows
    .filter((row) => row.case !== undefined)
    .map((row) => ({ contender: row.contender, n: Number(row.case?.replace(/\D/g, '')), p50: numberOf(row, 'release p50 ms'), calls: numberOf(row, 'auth calls (max)') }))
    .filter((point) => point.n > 0 && point.p50 > 0);
  const contenders = [...new Set(points.map((point) => point.contender))];
  const largest = Math.max(...points.map((point) => point.n));
  const ends = points.filter((point) => point.n === largest).sort((a, b) => b.p50 - a.p50);
  const ticks = decades(points.map((point) => point.p50));
  const title = 'Coalescing: release time against N concurrent demands on an expired token';
  return {
    file: 'bench-coalescing.svg',
    title,
    svg: renderSvg({
      heading: title,
      subheading: subheading(
        run,
        `From the auth reply to the last waiter released, p50 in ms, log scales. At N = ${largest.toLocaleString('en-US')}, naive made ` +
          `${ends.find((p) => p.contender === 'naive')?.calls.toLocaleString('en-US') ?? '?'} auth calls, every other contender 1.`,
      ),
      description: `${title}: ${ends.map((end) => `${end.contender} ${figure(end.p50)} ms`).join(', ')} at N = ${largest}.`,
      width: WIDTH + 80,
      height: 340,
      marginRight: 330,
      x: { type: 'log', label: 'N concurrent demands →', tickFormat: (n: number) => n.toLocaleString('en-US') },
      y: { type: 'log', label: null, grid: true, domain: extent(ticks), ticks, tickFormat: figure },
      color: { domain: Object.keys(PALETTE), range: Object.values(PALETTE) },
      marks: [
        ...contenders.map((contender) =>
          Plot.line(
            points.filter((point) => point.contender === contender),
            { x: 'n', y: 'p50', stroke: () => contender, strokeWidth: contender.startsWith('rx-token-stream') ? 2.5 : 1.5, ariaDescription: `release p50: ${contender}` },
          ),
        ),
        Plot.dot(points, {
          x: 'n',
          y: 'p50',
          r: 3,
          fill: 'contender',
          title: (p: (typeof points)[number]) => `${p.contender} at N = ${p.n.toLocaleString('en-US')}: ${figure(p.p50)} ms`,
          ariaDescription: 'points',
        }),
        // A list beside the plot, slowest first, rather than labels at the line ends, which overlap where two contenders tie.
        ...ends.map((end, index) =>
          Plot.text([end], {
            frameAnchor: 'top-right',
            dx: 16,
            dy: index * 18,
            text: () => `${figure(end.p50)} ms  ${end.contender}`,
            fill: () => end.contender,
            textAnchor: 'start',
            fontWeight: 'bold',
            ariaDescription: `at N = ${largest.toLocaleString('en-US')}: ${end.contender}`,
          }),
        ),
      ],
    }),
  };
}

/** `≥ 0.5` or `≤ 1.5` as a number and a direction; undefined for any other limit. */
export function parseLimit(limit: string): { atLeast: boolean; value: number } | undefined {
  const match = /^([≥≤]|>=|<=)\s*([\d.,]+)$/.exec(limit.trim());
  if (match === null) return undefined;
  return { atLeast: match[1] === '≥' || match[1] === '>=', value: Number(match[2]?.replace(/,/g, '')) };
}

/** Each measured ratio of the hot path as a bar, its limit as a tick. */
function hotPath(result: ScenarioResult, run: RunInfo): Chart {
  const ratios = result.targets
    .flatMap((target: Target) => {
      const limit = parseLimit(target.limit);
      return limit === undefined ? [] : [{ name: target.name.replace(/^rx-token-stream /, ''), value: target.value, limit: limit.value, text: target.limit, pass: target.pass }];
    });
  const title = 'Hot path: taking a fresh token, ops/s as a ratio to its floor';
  const top = Math.max(1.2, ...ratios.flatMap((ratio) => [ratio.value, ratio.limit])) * 1.1;
  return {
    file: 'bench-hot-path.svg',
    title,
    svg: renderSvg({
      heading: title,
      subheading: subheading(run, 'A bar is the p50 of round-by-round ratios; the black tick is the limit the ratio must reach; 1 is as fast as the floor.'),
      description: `${title}: ${ratios.map((ratio) => `${ratio.name} ${figure(ratio.value)} (limit ${ratio.text})`).join('; ')}.`,
      width: WIDTH,
      height: 60 + ratios.length * 44,
      marginLeft: 310,
      marginRight: 150,
      x: { domain: [0, top], label: 'ratio →', grid: true },
      y: { domain: ratios.map((ratio) => ratio.name), label: null },
      marks: [
        Plot.barX(ratios, { x: 'value', y: 'name', fill: (ratio: (typeof ratios)[number]) => (ratio.pass ? RX : '#cf222e'), ariaDescription: 'ratios' }),
        Plot.tickX(ratios, { x: 'limit', y: 'name', strokeWidth: 3, stroke: '#1f2328', ariaDescription: 'limits' }),
        Plot.ruleX([1], { strokeDasharray: '4,3', stroke: '#57606a' }),
        Plot.text(ratios, { frameAnchor: 'right', y: 'name', text: (ratio: (typeof ratios)[number]) => `${figure(ratio.value)}× (limit ${ratio.text})`, textAnchor: 'start', dx: 8, ariaDescription: 'ratio labels' }),
      ],
    }),
  };
}

/** Requests per second per client, with client CPU per request. */
function httpOverhead(result: ScenarioResult, run: RunInfo): Chart {
  const clients = result.rows
    .filter((row) => Number.isFinite(numberOf(row, 'req/s p50')))
    .map((row) => ({ client: row.contender, rps: numberOf(row, 'req/s p50'), slowest: numberOf(row, 'req/s slowest round'), cpu: numberOf(row, 'client CPU µs/request p50') }));
  const ratio = result.targets.find((target) => target.name.startsWith('authFetch req/s'));
  const wrapper = result.rows.map((row) => numberOf(row, 'wrapper µs/request (token, origin check, headers)')).find(Number.isFinite);
  const title = 'HTTP overhead: requests per second per client, same loopback server';
  return {
    file: 'bench-http-overhead.svg',
    title,
    svg: renderSvg({
      heading: title,
      subheading: subheading(
        run,
        `Bars: p50 of rounds; tick: the slowest round. authFetch's own work: ${wrapper === undefined ? '?' : figure(wrapper)} µs a request.`,
        `authFetch / node-fetch, p50 of paired rounds: ${ratio === undefined ? '?' : `${figure(ratio.value)}× (limit ${ratio.limit}, ${ratio.pass ? 'met' : 'missed'})`}.`,
      ),
      description: `${title}: ${clients.map((c) => `${c.client} ${figure(c.rps)} req/s`).join(', ')}.`,
      width: WIDTH,
      height: 60 + clients.length * 44,
      marginLeft: 210,
      marginRight: 200,
      x: { label: 'requests per second →', grid: true },
      y: { domain: clients.map((client) => client.client), label: null },
      marks: [
        Plot.barX(clients, { x: 'rps', y: 'client', fill: (c: (typeof clients)[number]) => (c.client.startsWith('rx-token-stream') ? RX : '#8c959f'), ariaDescription: 'requests per second' }),
        Plot.tickX(clients, { x: 'slowest', y: 'client', strokeWidth: 2, stroke: '#1f2328', ariaDescription: 'slowest round' }),
        Plot.text(clients, { frameAnchor: 'right', y: 'client', dx: 8, textAnchor: 'start', text: (c: (typeof clients)[number]) => `${figure(c.rps)} req/s, ${figure(c.cpu)} µs CPU each`, ariaDescription: 'client labels' }),
      ],
    }),
  };
}

/** Auth calls per round of the fleet, without Redis and with redisShared. */
function fleet(result: ScenarioResult, run: RunInfo): Chart {
  const modes = result.rows.map((row) => {
    const [min = Number.NaN, max = Number.NaN] = String(row.figures['auth calls per round (min–max)']).split('–').map(Number);
    return { mode: row.contender, min, max };
  });
  const processes = /(\d+) processes/.exec(result.title)?.[1] ?? 'several';
  const title = `Fleet: auth calls per round, ${processes} processes on one expired token`;
  return {
    file: 'bench-fleet.svg',
    title,
    svg: renderSvg({
      heading: title,
      subheading: subheading(run, 'Each round, every process demands a token at once; the most auth calls any round made.'),
      description: `${title}: ${modes.map((m) => `${m.mode} ${m.max}`).join(', ')}.`,
      width: WIDTH,
      height: 60 + modes.length * 44,
      marginLeft: 250,
      marginRight: 160,
      x: { domain: [0, Math.max(4, ...modes.map((m) => m.max))], label: 'auth calls per round →', grid: true, ticks: 4 },
      y: { domain: modes.map((m) => m.mode), label: null },
      marks: [
        Plot.barX(modes, { x: 'max', y: 'mode', fill: (m: (typeof modes)[number]) => (m.mode === 'redisShared' ? RX : '#8c959f'), ariaDescription: 'auth calls per round' }),
        Plot.text(modes, { x: 'max', y: 'mode', dx: 6, textAnchor: 'start', text: (m: (typeof modes)[number]) => `${m.max} per round (${m.min}–${m.max})`, ariaDescription: 'auth call labels' }),
      ],
    }),
  };
}

const drawn: Array<[id: string, draw: (result: ScenarioResult, run: RunInfo) => Chart]> = [
  ['1 coalescing', coalescing],
  ['3 hot path', hotPath],
  ['4 HTTP overhead', httpOverhead],
  ['6 fleet', fleet],
];

/** The charts of the scenarios that ran, in the order of the tables. */
export function charts(results: readonly ScenarioResult[], run: RunInfo): Chart[] {
  return drawn.flatMap(([id, draw]) => {
    const result = ran(results, id);
    return result === undefined ? [] : [draw(result, run)];
  });
}
