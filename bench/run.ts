/**
 * `npm run bench [-- --quick] [-- --json [file]] [-- --only id,id] [-- --charts DIR] [-- --write-docs]`
 *
 * Runs every scenario in a child process of its own, one after the other, shows a progress
 * bar on a TTY, and ends with one table of targets. The exit code is 1 when a target that
 * gates this run fails: counts always, timing ratios only on the full run, because a noisy
 * shared machine must not fail a smoke run. `--charts DIR` draws the run as SVG charts into
 * DIR. `--write-docs` puts the tables and the charts of a full run into docs/performance.md
 * (the charts into docs/images/).
 */
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import cliProgress from 'cli-progress';
import type { ChildMessage } from './child.js';
import { docsUrl, withGenerated, writeDocs } from './docs.js';
import type { Chart, RunInfo } from './charts.js';
import { passed, renderScenario, renderTargets, target, type ScenarioResult } from './report.js';
import { scenarios } from './scenarios/index.js';

interface Args {
  quick: boolean;
  /** `undefined`: no JSON; `'-'`: JSON on stdout (the tables go to stderr); else a file. */
  json: string | undefined;
  only: string[] | undefined;
  /** Write the tables into docs/performance.md: a full run only. */
  writeDocs: boolean;
  /** A folder to draw the run's charts into, as SVG files. */
  charts: string | undefined;
}

/** A bad command line: reported on one line, exit code 2. */
class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, json: undefined, only: undefined, writeDocs: false, charts: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if (arg === '--quick') args.quick = true;
    else if (arg === '--json') {
      args.json = next !== undefined && !next.startsWith('--') ? next : '-';
      if (args.json !== '-') i += 1;
    } else if (arg.startsWith('--json=')) args.json = arg.slice('--json='.length);
    else if (arg === '--only' && next !== undefined) {
      args.only = next.split(',');
      i += 1;
    } else if (arg === '--charts') {
      if (next === undefined || next.startsWith('--')) throw new UsageError('--charts needs a folder to write the charts into, such as --charts charts/');
      args.charts = next;
      i += 1;
    } else if (arg === '--write-docs') args.writeDocs = true;
    else throw new UsageError(`unknown argument ${arg} (use --quick, --json [file], --only id,id, --charts DIR, --write-docs)`);
  }
  if (args.writeDocs && (args.quick || args.only !== undefined)) {
    throw new UsageError('--write-docs records a full run of every scenario: drop --quick and --only');
  }
  return args;
}

const childUrl = new URL('./child.ts', import.meta.url);
/** How long a child may take to exit after its result: longer means something keeps it alive. */
const exitGraceMs = 10_000;

function runChild(id: string, quick: boolean, onProgress: (fraction: number) => void): Promise<ScenarioResult> {
  return new Promise((resolve) => {
    const child = fork(childUrl, [id, ...(quick ? ['--quick'] : [])], {
      execArgv: ['--import', 'tsx', '--conditions=rx-token-stream-source', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: ScenarioResult | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'progress') onProgress(message.done / message.total);
      else {
        result = message.result;
        // A child that does not exit on its own holds a timer, socket or handle it should not.
        graceTimer = setTimeout(() => child.kill('SIGKILL'), exitGraceMs);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(graceTimer);
      const exitedCleanly = code === 0 && signal === null;
      const failed = { id, title: id, rows: [], targets: [] };
      const final: ScenarioResult = result ?? { ...failed, skipped: `the scenario process failed (exit ${code ?? signal})` };
      final.targets.push(
        target('scenario process finished and exited on its own', exitedCleanly && result !== undefined ? 1 : 0, '= 1', 'count', (v) => v === 1),
      );
      resolve(final);
    });
  });
}

/** The charts of a run; Plot and its DOM load only when charts are asked for. */
async function drawCharts(results: ScenarioResult[], run: RunInfo): Promise<Chart[]> {
  const { charts } = await import('./charts.js');
  return charts(results, run);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // Before a run of minutes, not after it: a doc without its markers cannot take the tables.
  if (args.writeDocs) {
    try {
      withGenerated(readFileSync(docsUrl, 'utf8'), '');
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const ids = args.only ?? Object.keys(scenarios);
  for (const id of ids) if (!(id in scenarios)) throw new UsageError(`unknown scenario ${id} (${Object.keys(scenarios).join(', ')})`);
  const out = args.json === '-' ? process.stderr : process.stdout;
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        {
          format: '{scenario} [{bar}] {percentage}% | {duration}s',
          clearOnComplete: true,
          hideCursor: true,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const startedAt = performance.now();
  // The 1-minute load average before and after each scenario: a record of whether the
  // machine was shared while it ran, which a timing ratio alone cannot tell.
  const loads = [loadavg()[0] ?? Number.NaN];
  const results: ScenarioResult[] = [];
  for (const id of ids) {
    bar?.start(100, 0, { scenario: id.padEnd(14) });
    results.push(await runChild(id, args.quick, (fraction) => bar?.update(Math.round(fraction * 100))));
    bar?.stop();
    loads.push(loadavg()[0] ?? Number.NaN);
  }
  const machine = `${availableParallelism()} cores, Node ${process.version}, ${process.platform}/${process.arch}`;
  const seconds = (performance.now() - startedAt) / 1000;
  const ok = passed(results, args.quick);
  const tables = [
    ...results.map(renderScenario),
    `### Targets\n\n${renderTargets(results, args.quick)}`,
    ok ? 'All gating targets met.' : 'Some gating targets were missed.',
  ].join('\n\n');
  out.write(`\nrx-token-stream bench (${args.quick ? '--quick' : 'full run'}) on ${machine}, ${seconds.toFixed(0)} s\n\n${tables}\n`);
  const day = new Date().toISOString().slice(0, 10);
  const drawn = args.charts === undefined && !args.writeDocs ? [] : await drawCharts(results, { quick: args.quick, machine, day });
  if (args.charts !== undefined) {
    mkdirSync(args.charts, { recursive: true });
    for (const chart of drawn) writeFileSync(join(args.charts, chart.file), chart.svg);
    out.write(`Wrote ${drawn.length} chart${drawn.length === 1 ? '' : 's'} into ${args.charts}: ${drawn.map((chart) => chart.file).join(', ') || 'no charted scenario ran'}.\n`);
  }
  const json = `${JSON.stringify({ quick: args.quick, machine, seconds, passed: ok, results }, null, 2)}\n`;
  if (args.writeDocs) {
    const load = `load average ${(loads[0] ?? Number.NaN).toFixed(1)} at its start and up to ${Math.max(...loads).toFixed(1)} between scenarios`;
    writeDocs({ summary: `A full run of ${day} on ${machine}, ${load}, in ${seconds.toFixed(0)} s.`, charts: drawn, tables, json });
    out.write(`Wrote the tables into docs/performance.md, and its charts and JSON into docs/images/.\n`);
  }
  if (args.json === '-') process.stdout.write(json);
  else if (args.json !== undefined) writeFileSync(args.json, json);
  process.exitCode = ok ? 0 : 1;
}

try {
  await main();
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`bench: ${error.message}\n`);
  process.exitCode = 2;
}
