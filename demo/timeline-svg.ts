/**
 * `npm run demo -- --svg FILE`: the run as a timeline. Time runs left to right; each
 * service has a lane per step of its requests (sent, 401, retried, done), one for its auth
 * calls and one for the new tokens its `TokenStream` received. Where events would overlap,
 * they are counted into bins a few pixels wide, so 100 and 2,000 requests read alike.
 */
import * as Plot from '@observablehq/plot';
import { renderSvg } from './svg.js';
import { LANES, type Lane, type TimelineRecord } from './timeline.js';

/** A lane of the picture: one of the recorded lanes, or the service's new tokens. */
export type Row = Lane | 'new token';

/** One drawn bin: `count` events of one lane between `x1` and `x2` (seconds). */
export interface Bin {
  service: string;
  row: Row;
  x1: number;
  x2: number;
  count: number;
}

const WIDTH = 960;
const MARGIN_LEFT = 92;
const MARGIN_RIGHT = 150;
/** A bin is this many pixels wide: narrow enough to tell two bursts apart. */
const BIN_PX = 3;
/** Events closer than this many pixels are one burst, labelled with its count. */
const BURST_GAP_PX = 28;
const LANE_PX = 17;

const COLORS: Record<Row, string> = {
  sent: '#8c959f',
  '401': '#cf222e',
  retried: '#bc4c00',
  done: '#1a7f37',
  failed: '#000000',
  'auth call': '#8250df',
  'new token': '#0969da',
};

/** What each row is called on the picture's left. */
const ROW_LABELS: Record<Row, string> = {
  sent: 'sent',
  '401': '401 answered',
  retried: 'retried',
  done: 'done (200)',
  failed: 'failed',
  'auth call': 'auth calls',
  'new token': 'new tokens',
};

const WHAT: Record<string, string> = {
  naive: 'naive: one global token; every request that gets a 401 fetches a new one',
  reactive: 'reactive: one TokenStream, authFetch retries a 401 once',
  fleet: 'fleet: a TokenStream per process, one token shared through Redis',
};

/** Counts `times` (seconds) into bins of `width` from `from`. */
export function binTimes(times: readonly number[], from: number, width: number): Array<{ x1: number; x2: number; count: number }> {
  const counts = new Map<number, number>();
  for (const time of times) {
    const index = Math.floor((time - from) / width);
    counts.set(index, (counts.get(index) ?? 0) + 1);
  }
  return [...counts]
    .sort(([a], [b]) => a - b)
    .map(([index, count]) => ({ x1: from + index * width, x2: from + (index + 1) * width, count }));
}

/** Groups sorted `times` into bursts: runs of events less than `gap` apart. */
export function bursts(times: readonly number[], gap: number): Array<{ from: number; to: number; count: number }> {
  const found: Array<{ from: number; to: number; count: number }> = [];
  for (const time of [...times].sort((a, b) => a - b)) {
    const last = found.at(-1);
    if (last !== undefined && time - last.to < gap) {
      last.to = time;
      last.count += 1;
    } else found.push({ from: time, to: time, count: 1 });
  }
  return found;
}

/** The total a row's right-hand label gives, and the label's text. */
export function rowTotal(record: TimelineRecord, service: string, row: Row): { count: number; text: string } {
  if (row === 'new token' && !record.streams.includes(service)) return { count: 0, text: 'no TokenStream' };
  if (row !== 'new token') {
    const count = record.events.filter((event) => event.service === service && event.lane === row).length;
    return { count, text: count.toLocaleString('en-US') };
  }
  const perProcess = new Map<number, number>();
  for (const rotation of record.rotations) {
    if (rotation.service === service) perProcess.set(rotation.process, (perProcess.get(rotation.process) ?? 0) + 1);
  }
  const counts = [...perProcess.values()];
  // As the demo counts them: a fleet's processes share their tokens, so the most any one
  // received; otherwise each process received its own, so their sum.
  if (service === 'fleet') {
    const count = Math.max(0, ...counts);
    return { count, text: record.processes > 1 ? `${count} in each process` : String(count) };
  }
  const count = counts.reduce((sum, each) => sum + each, 0);
  return { count, text: record.processes > 1 ? `${count} in ${record.processes} processes` : String(count) };
}

/** The timeline of a run as the text of an SVG file. */
export function renderTimeline(record: TimelineRecord): string {
  const { services, startedAt } = record;
  const seconds = (at: number): number => (at - startedAt) / 1000;
  // From just before the first event: forking the processes of --processes takes seconds of nothing.
  const first = Math.min(seconds(record.endedAt), ...[...record.events, ...record.rotations].map((event) => seconds(event.at)));
  const end = seconds(record.endedAt);
  const from = Math.max(0, first - (end - first) * 0.02);
  const span = Math.max(0.001, end - from);
  const binWidth = (span * BIN_PX) / (WIDTH - MARGIN_LEFT - MARGIN_RIGHT);
  const burstGap = (span * BURST_GAP_PX) / (WIDTH - MARGIN_LEFT - MARGIN_RIGHT);
  const hasRotations = record.streams.length > 0;
  const failed = record.events.some((event) => event.lane === 'failed');
  const rows: Row[] = [...LANES.filter((lane) => lane !== 'failed' || failed), ...(hasRotations ? ['new token' as const] : [])];

  const timesOf = (service: string, row: Row): number[] =>
    row === 'new token'
      ? record.rotations.filter((r) => r.service === service).map((r) => seconds(r.at))
      : record.events.filter((e) => e.service === service && e.lane === row).map((e) => seconds(e.at));
  const series = services.flatMap((service) => rows.map((row) => ({ service, row, times: timesOf(service, row) })));
  const bins: Bin[] = series.flatMap(({ service, row, times }) => binTimes(times, from, binWidth).map((bin) => ({ service, row, ...bin })));
  const most = Math.max(2, ...bins.map((bin) => bin.count));
  type Burst = { service: string; row: Row; x: number; count: number };
  type Total = { service: string; row: Row; count: number; text: string };
  const authBursts: Burst[] = series
    .filter((s) => s.row === 'auth call')
    .flatMap(({ service, row, times }) => bursts(times, burstGap).map((burst) => ({ service, row, x: burst.to, count: burst.count })));
  const totals: Total[] = services.flatMap((service) => rows.map((row) => ({ service, row, ...rowTotal(record, service, row) })));

  // A round spans every service's burst in it: the services are loaded one after another.
  const rounds = [...new Set(record.bursts.map((burst) => burst.round))].map((round) => {
    const of = record.bursts.filter((burst) => burst.round === round);
    const mode = of[0]?.mode === 'sequential' ? 'one at a time' : `${record.parallel.toLocaleString('en-US')} at once`;
    return { round, label: `round ${round}: ${mode}`, x1: Math.min(...of.map((b) => seconds(b.startedAt))), x2: Math.max(...of.map((b) => seconds(b.endedAt))) };
  });

  const largest = services.map((service) => {
    const counts = authBursts.filter((burst) => burst.service === service).map((burst) => burst.count);
    return `${service} ${Math.max(0, ...counts).toLocaleString('en-US')}`;
  });
  const authTotals = services.map((service) => `${service} ${rowTotal(record, service, 'auth call').text}`).join(', ');
  const processes = record.processes > 1 ? ` (in ${record.processes} processes)` : '';
  const ms = (value: number): string => (value < 1000 ? `${value} ms` : `${value / 1000} s`);
  return renderSvg({
    heading: `${record.parallel.toLocaleString('en-US')} requests at once${processes}, auth calls in the largest burst: ${largest.join(', ')}`,
    subheading: [
      `npm run demo: ${rounds.length} round${rounds.length === 1 ? '' : 's'}, ${ms(record.ttlMs)} tokens, ${ms(record.authLatencyMs)} per auth call. Auth calls in all: ${authTotals}.`,
      `A mark is ${BIN_PX} px of time, darker when it holds more events. The numbers count each burst of auth calls.`,
    ],
    description: `A timeline of one demo run: requests, auth calls and new tokens of each service over time. Auth calls in all: ${authTotals}.`,
    width: WIDTH,
    height: 70 + services.length * (rows.length * LANE_PX + 44) + 40,
    marginLeft: MARGIN_LEFT,
    marginRight: MARGIN_RIGHT,
    marginTop: 46,
    marginBottom: 36,
    x: { domain: [from, end], label: 'seconds since the demo started its servers →', labelAnchor: 'right', labelOffset: 30 },
    y: { domain: rows, tickFormat: (row: Row) => ROW_LABELS[row], label: null, tickSize: 0, padding: 0.12 },
    fy: { domain: services, axis: null, padding: 0.3 },
    color: { domain: Object.keys(COLORS), range: Object.values(COLORS) },
    opacity: { type: 'log', domain: [1, most], range: [0.45, 1] },
    marks: [
      Plot.rect(rounds, { x1: 'x1', x2: 'x2', fill: '#eef1f4', ariaDescription: 'rounds' }),
      Plot.text(rounds, { x: 'x1', text: 'label', fy: () => services[0], frameAnchor: 'top', textAnchor: 'start', dy: -36, ariaDescription: 'round labels' }),
      Plot.text(services, { fy: (service: string) => service, text: (service: string) => WHAT[service] ?? service, frameAnchor: 'top-left', dx: -MARGIN_LEFT + 8, dy: -14, fontSize: 12, fontWeight: 'bold', ariaDescription: 'service names' }),
      Plot.ruleX(
        record.rotations.map((r) => ({ service: r.service, x: seconds(r.at) })),
        { x: 'x', fy: 'service', stroke: COLORS['new token'], strokeOpacity: 0.25, ariaDescription: 'new token rules' },
      ),
      ...series
        .filter(({ times }) => times.length > 0)
        .map(({ service, row }) =>
          Plot.rect(
            bins.filter((bin) => bin.service === service && bin.row === row),
            {
              x1: 'x1',
              x2: 'x2',
              y: 'row',
              fy: 'service',
              fill: 'row',
              fillOpacity: 'count',
              insetLeft: -0.5,
              title: (bin: Bin) => `${service} ${row}: ${bin.count} between ${bin.x1.toFixed(3)} s and ${bin.x2.toFixed(3)} s`,
              ariaDescription: `${service} ${row}`,
            },
          ),
        ),
      Plot.text(authBursts, {
        x: 'x',
        y: 'row',
        fy: 'service',
        text: (burst: Burst) => burst.count.toLocaleString('en-US'),
        title: (burst: Burst) => `${burst.service} auth call burst`,
        textAnchor: 'start',
        dx: 5,
        fill: COLORS['auth call'],
        fontWeight: 'bold',
        ariaDescription: 'auth call bursts',
      }),
      Plot.text(totals, {
        y: 'row',
        fy: 'service',
        text: 'text',
        title: (total: Total) => `${total.service} ${total.row} in all`,
        frameAnchor: 'right',
        textAnchor: 'start',
        dx: 10,
        fill: (total: Total) => (record.streams.includes(total.service) || total.row !== 'new token' ? total.row : 'sent'),
        fontVariant: 'tabular-nums',
        ariaDescription: 'totals',
      }),
      Plot.text(['in all'], { fy: () => services[0], frameAnchor: 'top-right', textAnchor: 'start', dx: 10, dy: -14, fontWeight: 'bold', ariaDescription: 'totals heading' }),
    ],
  });
}
