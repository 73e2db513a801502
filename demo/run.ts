// npm run demo -- [--parallel 100] [--rounds 3] [--ttl 2s] [--auth-latency 50ms] [--json]
//                  [--auth oauth2] [--processes 4 [--redis redis://127.0.0.1:6379]] [--svg timeline.svg]
//                  [--tenants 50] [--grant refresh_token]
//
// The seed story, end to end over real HTTP: a naive service and a reactive one call the
// same partner API with tokens from the same auth server, under the same load. With
// --processes, each runs in several processes, and with --redis a third one shares its
// token between them. With --tenants (tenants.ts), each service holds a token per tenant;
// with --grant refresh_token (refresh-run.ts), tokens come from rotating refresh tokens.
import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HELP, UsageError, formatDuration, parseFlags, type DemoOptions } from './cli.js';
import { printOutcome } from './outcome.js';
import { runRefreshGrant } from './refresh-run.js';
import { Tally, judge } from './results.js';
import { runRound, seconds } from './round.js';
import { startStack, type DemoService } from './stack.js';
import { renderTable, summarize } from './table.js';
import { runTenants } from './tenants.js';
import { createTerminal } from './terminal.js';
import { TimelineRecorder, type Rotation } from './timeline.js';

async function main(argv: string[]): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseFlags(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`demo: ${error.message} (see --help)\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  // Before a run of seconds, not after it: the picture needs a folder to go into.
  if (options.svg !== undefined && !isFolder(dirname(resolve(options.svg)))) {
    process.stderr.write(`demo: --svg ${options.svg}: no such folder (see --help)\n`);
    return 2;
  }

  // With --json, stdout carries the JSON alone: the story goes to stderr.
  const out = createTerminal(options.json ? process.stderr : process.stdout);
  if (options.tenants !== undefined) return printOutcome(await runTenants(options, options.tenants, out), options.json, out);
  if (options.grant === 'refresh_token') return printOutcome(await runRefreshGrant(options, out), options.json, out);
  const { ttlMs, authLatencyMs, auth, processes, redisUrl } = options;
  const server = auth === 'oauth2' ? 'an OAuth2 server (oauth2-mock-server)' : 'a token service';
  const where = processes === undefined ? '' : ` in ${processes} processes each`;
  out.log(
    `Starting ${server} (ttl ${formatDuration(ttlMs)}, auth latency ${formatDuration(authLatencyMs)}), a partner API ` +
      `and the services in front of it${where} on 127.0.0.1, for ${options.rounds} rounds of ${options.parallel} requests.`,
  );
  if (processes !== undefined && redisUrl === undefined) {
    out.log('No --redis URL: the fleet row (one token shared by every process through Redis) is left out.');
  }
  const timeline = options.svg === undefined ? undefined : new TimelineRecorder();
  timeline?.start();
  const stack = await startStack({ ...options, log: out.log, ...(timeline === undefined ? {} : { timeline }) });
  const tallies = stack.services.map((service) => ({ service, tally: new Tally(service.name), seen: { authCalls: 0, unauthorized: 0 } }));
  try {
    for (let round = 1; round <= options.rounds; round += 1) {
      if (round > 1) {
        // Real time, on purpose: the demo lets the tokens really expire between rounds.
        const waitMs = stack.msUntilTokensExpire() + 50;
        out.log(`Waiting ${seconds(waitMs)} for the tokens to expire...`);
        await sleep(waitMs);
      }
      for (const entry of tallies) {
        const mode = round === 1 ? 'sequential' : 'parallel';
        const load = await runRound(entry.service, { round, requests: options.parallel, mode }, out, timeline);
        const counted = { authCalls: entry.service.authCalls(), unauthorized: entry.service.unauthorized() };
        timeline?.counted(entry.service.name);
        entry.tally.add(round, load, {
          authCalls: counted.authCalls - entry.seen.authCalls,
          unauthorized: counted.unauthorized - entry.seen.unauthorized,
        });
        entry.seen = counted;
      }
    }
    timeline?.stop();
  } finally {
    await stack.close();
  }

  const services = tallies.map(({ service: { rotations, incidents, processes, shared }, tally }) => {
    const seen = incidents?.() ?? [];
    return tally.report({
      ...(rotations === undefined ? {} : { rotations: rotations() }),
      ...(processes === undefined ? {} : { processes, shared: shared === true }),
      ...(seen.length === 0 ? {} : { incidents: seen }),
    });
  });
  const verdict = judge(services);
  if (options.json) {
    // The Redis URL stays out: it may carry a password.
    const { parallel, rounds } = options;
    const shown = { parallel, rounds, ttlMs, authLatencyMs, auth, ...(processes === undefined ? {} : { processes }) };
    process.stdout.write(`${JSON.stringify({ options: shown, services, ...verdict }, null, 2)}\n`);
  } else {
    out.log(`\n${renderTable(services)}\n\n${summarize(services, options.parallel)}\n`);
    if (verdict.ok) out.log(`OK: ${verdict.reason}.`);
  }
  if (options.svg !== undefined && timeline !== undefined) {
    await writeTimeline(options.svg, timeline, stack.services, options);
    out.log(`Wrote the timeline to ${options.svg}.`);
  }
  if (!verdict.ok) process.stderr.write(`demo failed: ${verdict.reason}\n`);
  return verdict.ok ? 0 : 1;
}

/** Draws the recorded run into `file`, with each service's new tokens as its processes reported them. */
async function writeTimeline(file: string, timeline: TimelineRecorder, services: DemoService[], options: DemoOptions): Promise<void> {
  const rotations: Rotation[] = services.flatMap(({ name, rotationTimes }) =>
    (rotationTimes?.() ?? []).flatMap((times, index) => times.map((at) => ({ service: name, process: index + 1, at }))),
  );
  const record = timeline.result({
    services: services.map((service) => service.name),
    streams: services.filter((service) => service.rotationTimes !== undefined).map((service) => service.name),
    parallel: options.parallel,
    processes: options.processes ?? 1,
    ttlMs: options.ttlMs,
    authLatencyMs: options.authLatencyMs,
    rotations,
  });
  // Plot and its DOM load only for a picture: a plain run starts as fast as before.
  const { renderTimeline } = await import('./timeline-svg.js');
  await writeFile(file, renderTimeline(record));
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

// A reader that goes away (`npm run demo | head`) ends the output, not the run: the
// servers still close and the exit code still tells.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
