import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import sinon from 'sinon';
import { TokenStream, clientCredentials } from 'rx-token-stream';
import { parseFlags } from '../demo/cli.js';
import { startOAuth2Server } from '../demo/oauth2-server.js';
import { startReactiveService } from '../demo/reactive-service.js';
import { judgeGrant, type GrantReport, type GrantRoundCounts } from '../demo/refresh-report.js';
import { Tally, judge, percentile, type ServiceReport } from '../demo/results.js';
import { presentRefreshToken, startRotatingTokenServer } from '../demo/rotating-token-server.js';
import { summarize } from '../demo/table.js';
import { TenantTally, renderTenantTable, type TenantReport } from '../demo/tenant-report.js';
import { createTerminal } from '../demo/terminal.js';
import { requestToken, startTokenService } from '../demo/token-service.js';
import { freePort, redisUrl } from './support/redis-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  /** null when the child was killed: it did not exit by itself in time. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the demo as a user would, in its own process, and waits for it to exit by itself:
 * with node, or with the README's `npm run -s demo -- <args>`.
 */
function runDemo(args: string[], via: 'node' | 'npm' = 'node', timeoutMs = 30_000): Promise<Run> {
  const [command, argv] =
    via === 'npm'
      ? ['npm', ['run', '-s', 'demo', '--', ...args]]
      : [process.execPath, ['--import', 'tsx', '--conditions=rx-token-stream-source', 'demo/run.ts', ...args]];
  return new Promise((resolve) => {
    execFile(
      command,
      argv,
      { cwd: root, timeout: timeoutMs, env: { ...process.env, NODE_OPTIONS: '' } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

// The demo's tokens are `<base64url payload>.<base64url signature>`, and the OAuth2 server's
// are JWTs (three such parts): nothing like either may be printed.
const TOKEN_SHAPE = /[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/;
// Anything but newline and tab: a pipe must get plain text.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

// A 1 s token and a 50 ms auth call leave room for a loaded machine: the counts below hold
// however the requests interleave, but a burst has to reach the naive service within one auth call.
const small = ['--parallel', '20', '--rounds', '2', '--ttl', '1s', '--auth-latency', '50ms'];

describe('demo', () => {
  describe('npm run demo, run as a child process', () => {
    let json: Run;
    let human: Run;
    before(async function () {
      this.timeout(40_000);
      [json, human] = await Promise.all([runDemo(['--json', ...small], 'npm'), runDemo(small)]);
    });

    it('exits 0 by itself and prints only JSON on stdout with `npm run -s demo -- --json`', () => {
      expect(json.code, json.stderr).to.equal(0);
      expect(() => JSON.parse(json.stdout)).not.to.throw();
    });

    it('counts one reactive auth call per token rotation, no reactive failure, and more naive auth calls', () => {
      const report = JSON.parse(json.stdout) as { ok: boolean; options: unknown; services: ServiceReport[] };
      expect(report.ok).to.equal(true);
      expect(report.options).to.deep.equal({ parallel: 20, rounds: 2, ttlMs: 1000, authLatencyMs: 50, auth: 'demo' });
      const [naive, reactive] = report.services;
      expect(naive?.name).to.equal('naive');
      expect(reactive?.name).to.equal('reactive');
      expect(reactive?.rotations).to.be.at.least(2);
      expect(reactive?.total.authCalls).to.equal(reactive?.rotations);
      expect(reactive?.total.failed).to.equal(0);
      expect(naive?.total.authCalls).to.be.greaterThan(reactive?.total.authCalls ?? Infinity);
      for (const service of [naive, reactive]) {
        expect(service?.rounds.map((round) => [round.round, round.mode, round.requests])).to.deep.equal([
          [1, 'sequential', 20],
          [2, 'parallel', 20],
        ]);
        expect(service?.total.requests).to.equal(40);
      }
      // The naive service fetches a token for its first request, then one per 401 it meets.
      const [first, second] = naive?.rounds ?? [];
      expect(first?.authCalls).to.equal(1 + (first?.unauthorized ?? NaN));
      expect(second?.authCalls).to.equal(second?.unauthorized);
      expect(second?.authCalls).to.be.greaterThan(1);
    });

    it('logs every token rotation, without the token, on stderr with --json', () => {
      const report = JSON.parse(json.stdout) as { services: ServiceReport[] };
      const rotations = json.stderr.split('\n').filter((line) => /token rotation #\d+/.test(line));
      expect(rotations).to.have.length(report.services[1]?.rotations ?? -1);
      expect(json.stderr).not.to.match(TOKEN_SHAPE);
      expect(json.stdout).not.to.match(TOKEN_SHAPE);
    });

    it('prints the side-by-side table as plain text when piped', () => {
      expect(human.code, human.stderr).to.equal(0);
      expect(human.stdout).to.match(/round\s+service\s+requests\s+auth calls\s+401s seen\s+failed\s+p50 ms\s+p99 ms/);
      expect(human.stdout).to.match(/^total\s+naive\s+40\s/m);
      expect(human.stdout).to.match(/^\s+reactive\s+40\s/m);
      expect(human.stdout).to.match(/^OK: /m);
      // Both durations in the form the flags take.
      expect(human.stdout).to.match(/^Starting a token service \(ttl 1s, auth latency 50ms\)/m);
      expect(human.stdout).not.to.match(CONTROL);
      expect(human.stdout).not.to.match(TOKEN_SHAPE);
    });
  });

  describe('npm run demo -- --auth oauth2, and --processes 2 --redis <url>', () => {
    let oauth2: Run;
    let fleet: Run | undefined;
    before(async function () {
      this.timeout(40_000);
      const url = redisUrl();
      [oauth2, fleet] = await Promise.all([
        runDemo(['--json', '--auth', 'oauth2', ...small]),
        url === undefined ? undefined : runDemo(['--json', '--processes', '2', '--redis', url, ...small]),
      ]);
    });

    it('runs both services against a real OAuth2 server: one reactive auth call per rotation, as the server counted', () => {
      expect(oauth2.code, oauth2.stderr).to.equal(0);
      const report = JSON.parse(oauth2.stdout) as { ok: boolean; options: { auth: string }; services: ServiceReport[] };
      expect(report.ok).to.equal(true);
      expect(report.options.auth).to.equal('oauth2');
      expect(oauth2.stderr).to.match(/^Starting an OAuth2 server/m);
      const [naive, reactive] = report.services;
      expect(reactive?.rotations).to.be.at.least(2);
      expect(reactive?.total).to.include({ authCalls: reactive?.rotations, unauthorized: 0, failed: 0, requests: 40 });
      // The partner API took the OAuth2 server's tokens, and turned down the naive service's expired one.
      expect(naive?.total.failed).to.equal(0);
      expect(naive?.rounds[1]?.authCalls).to.equal(naive?.rounds[1]?.unauthorized);
      expect(naive?.rounds[1]?.authCalls).to.be.greaterThan(1);
      expect(oauth2.stdout + oauth2.stderr).not.to.match(TOKEN_SHAPE);
    });

    it('counts fleet-wide auth calls: one per rotation for the fleet sharing through Redis, one per process without', function () {
      if (fleet === undefined) this.skip();
      const run = fleet as Run;
      expect(run.code, run.stderr).to.equal(0);
      const report = JSON.parse(run.stdout) as { ok: boolean; options: { processes: number }; services: ServiceReport[] };
      expect(report.ok, run.stderr).to.equal(true);
      expect(report.options.processes).to.equal(2);
      expect(report.services.map((service) => [service.name, service.processes, service.shared])).to.deep.equal([
        ['naive', 2, false],
        ['reactive', 2, false],
        ['fleet', 2, true],
      ]);
      const [naive, reactive, shared] = report.services;
      for (const service of report.services) expect(service.total).to.include({ requests: 40, failed: 0 });
      // Each process holds its own token: one at start-up and one after the expiry, at least.
      expect(reactive?.total.authCalls).to.equal(reactive?.rotations).and.to.be.at.least(4);
      // Shared: as many auth calls as the rotations of one process, so no second process called.
      expect(shared?.rotations).to.be.at.least(2);
      expect(shared?.total.authCalls).to.equal(shared?.rotations);
      expect(naive?.rounds[1]?.authCalls).to.equal(naive?.rounds[1]?.unauthorized);
      expect(run.stderr).not.to.match(/redis-fallback/);
      expect(run.stderr).to.match(/^\[process 2\] fleet: token rotation #1,/m);
      expect(run.stdout + run.stderr).not.to.match(TOKEN_SHAPE);
    });

    it('partner-checks OAuth2 tokens by their JWKS signature, and counts token calls per client', async () => {
      const server = await startOAuth2Server({ ttlMs: 60_000, latencyMs: 0 });
      const source = clientCredentials({ tokenUrl: server.tokenUrl, clientId: 'reactive', clientSecret: 's' });
      const tokens = new TokenStream({ source });
      try {
        const tokensGot = await Promise.all(Array.from({ length: 20 }, () => tokens.getToken()));
        const { value } = tokensGot[0]!;
        expect(new Set(tokensGot.map((token) => token.value)).size).to.equal(1);
        expect(server.callsBy('reactive')).to.equal(1);
        expect(server.verify(value)).to.deep.equal({ client: 'reactive', expired: false });
        const [header, payload, signature = ''] = value.split('.');
        const forged = Buffer.from(JSON.stringify({ client_id: 'reactive', exp: Date.now() / 1000 + 600 })).toString('base64url');
        expect(server.verify(`${header}.${forged}.${signature}`)).to.equal(undefined);
        expect(server.verify(`${header}.${payload}.${signature.slice(0, -4)}AAAA`)).to.equal(undefined);
        expect(server.verify('not-a-jwt')).to.equal(undefined);
      } finally {
        tokens.close();
        await server.close();
      }
    });
  });

  describe('npm run demo -- --tenants, and --grant refresh_token (with --processes 2 --redis <url>)', () => {
    let tenants: Run;
    let grant: Run;
    let fleet: Run | undefined;
    before(async function () {
      this.timeout(60_000);
      const url = redisUrl();
      // Three at once on a loaded machine, two of them forking: a longer leash than one alone.
      [tenants, grant, fleet] = await Promise.all([
        runDemo(['--json', '--tenants', '5', ...small], 'npm', 55_000),
        runDemo(['--json', '--grant', 'refresh_token', ...small], 'node', 55_000),
        // 2 s tokens: the Redis store hands a saved access token to another process only while
        // it has more than a second left, so with 1 s tokens each process would rotate its own.
        url === undefined ? undefined : runDemo(['--json', '--grant', 'refresh_token', '--processes', '2', '--redis', url, ...small, '--ttl', '2s'], 'node', 55_000),
      ]);
    });

    it('--tenants: one reactive auth call per tenant per rotation, as the token service counted them per tenant', () => {
      expect(tenants.code, tenants.stderr).to.equal(0);
      const report = JSON.parse(tenants.stdout) as { ok: boolean; options: unknown; services: TenantReport[] };
      expect(report.ok).to.equal(true);
      expect(report.options).to.deep.equal({ parallel: 20, rounds: 2, ttlMs: 1000, authLatencyMs: 50, auth: 'demo', tenants: 5 });
      const [naive, reactive] = report.services;
      expect(report.services.map((service) => [service.name, service.tenants])).to.deep.equal([['naive', 5], ['reactive', 5]]);
      // Every round meets each of the 5 tenants' tokens missing (round 1) or expired: a rotation each, at least.
      for (const round of reactive?.rounds ?? []) {
        expect(round).to.include({ mode: 'parallel', requests: 20, failed: 0 });
        expect(round.authCalls).to.equal(round.rotations).and.to.be.at.least(5);
        expect(round.worstTenant.authCalls).to.equal(round.worstTenant.rotations);
      }
      expect(reactive?.total.authCalls).to.equal(reactive?.rotations);
      expect(reactive?.total.failed).to.equal(0);
      // Naive: 4 requests per tenant at once, each that finds no token or gets a 401 calls.
      expect(naive?.rotations).to.equal(undefined);
      expect(naive?.total.failed).to.equal(0);
      expect(naive?.rounds[1]?.authCalls).to.equal(naive?.rounds[1]?.unauthorized);
      expect(naive?.total.worstTenant.authCalls).to.be.greaterThan(1);
      expect(naive?.total.authCalls).to.be.greaterThan(reactive?.total.authCalls ?? Infinity);
      expect(tenants.stdout + tenants.stderr).not.to.match(TOKEN_SHAPE);
    });

    it('--grant refresh_token: naive reuses its refresh token and loses its family; reactive makes one grant per rotation', () => {
      expect(grant.code, grant.stderr).to.equal(0);
      const report = JSON.parse(grant.stdout) as { ok: boolean; options: unknown; services: GrantReport[] };
      expect(report.ok).to.equal(true);
      expect(report.options).to.deep.equal({ parallel: 20, rounds: 2, ttlMs: 1000, authLatencyMs: 50, grant: 'refresh_token' });
      const [naive, reactive] = report.services;
      expect(report.services.map((service) => service.name)).to.deep.equal(['naive', 'reactive']);
      expect(reactive?.rotations).to.be.at.least(2);
      expect(reactive?.total).to.include({ grantRequests: reactive?.rotations, reusedRefreshTokens: 0, revokedFamilies: 0, failed: 0, requests: 40 });
      // One at a time, the naive service presents each refresh token once...
      expect(naive?.rounds[0]).to.include({ grantRequests: 1, reusedRefreshTokens: 0, revokedFamilies: 0, failed: 0 });
      // ...but 20 requests that meet the expired token at once present the same one.
      expect(naive?.rounds[1]?.revokedFamilies).to.equal(1);
      expect(naive?.rounds[1]?.reusedRefreshTokens).to.be.at.least(1);
      expect(naive?.rounds[1]?.failed).to.be.at.least(1);
      expect(grant.stdout + grant.stderr).not.to.match(TOKEN_SHAPE);
    });

    it('--grant refresh_token --processes 2 --redis: the fleet sharing a Redis store makes one grant per rotation; a store per process loses its family', async function () {
      if (fleet === undefined) this.skip();
      const run = fleet as Run;
      expect(run.code, run.stderr).to.equal(0);
      const report = JSON.parse(run.stdout) as { ok: boolean; reason: string; options: unknown; services: GrantReport[] };
      expect(report.ok, run.stderr).to.equal(true);
      expect(report.reason).to.equal('fleet: one grant request per token rotation for all 2 processes, no reused refresh token, no revoked family, no failed request');
      expect(report.options).to.deep.equal({ parallel: 20, rounds: 2, ttlMs: 2000, authLatencyMs: 50, grant: 'refresh_token', processes: 2 });
      expect(report.services.map((service) => [service.name, service.processes, service.shared])).to.deep.equal([
        ['naive', 2, false],
        ['per-process', 2, false],
        ['fleet', 2, true],
      ]);
      const [naive, perProcess, shared] = report.services;
      expect(shared?.rotations).to.be.at.least(2);
      expect(shared?.total).to.include({ grantRequests: shared?.rotations, reusedRefreshTokens: 0, revokedFamilies: 0, failed: 0, requests: 40 });
      // Round 1 sends one request at a time, to each process in turn: the second process
      // presents the refresh token the first one already used, and the family is revoked.
      for (const service of [naive, perProcess]) {
        expect(service?.rounds[0]?.reusedRefreshTokens, service?.name).to.be.at.least(1);
        expect(service?.total.revokedFamilies, service?.name).to.equal(1);
        expect(service?.total.failed, service?.name).to.be.greaterThan(0);
      }
      expect(perProcess?.incidents?.[0]).to.match(/reauth-required|ERR_TOKEN_REFRESH/);
      expect(run.stderr).not.to.match(/redis-fallback/);
      expect(run.stdout + run.stderr).not.to.match(TOKEN_SHAPE);
      // The demo takes the fleet's credential out of Redis again.
      const redis = new Redis(redisUrl() as string);
      try {
        expect(await redis.keys('rx-token-stream-demo:*{user-42}*')).to.deep.equal([]);
      } finally {
        redis.disconnect();
      }
    });

    it('counts each tenant apart at a token service that knows their secrets, and refuses a wrong one uncounted', async () => {
      const clients = new Map([['reactive.tenant-1', 'secret-1'], ['reactive.tenant-2', 'secret-2']]);
      const auth = await startTokenService({ ttlMs: 60_000, latencyMs: 0, clients });
      try {
        const token = await requestToken(auth.tokenUrl, { id: 'reactive.tenant-1', secret: 'secret-1' });
        expect(auth.verify(token.value)).to.deep.equal({ client: 'reactive.tenant-1', expired: false });
        const refusals = await Promise.all([
          requestToken(auth.tokenUrl, { id: 'reactive.tenant-1', secret: 'secret-2' }).catch((error: Error) => error.message),
          requestToken(auth.tokenUrl, { id: 'reactive.tenant-3', secret: '' }).catch((error: Error) => error.message),
          requestToken(auth.tokenUrl, { id: 'reactive.tenant-2' }).catch((error: Error) => error.message),
        ]);
        expect(refusals).to.deep.equal(Array(3).fill('The auth server answered 401'));
        expect([auth.callsBy('reactive.tenant-1'), auth.callsBy('reactive.tenant-2'), auth.callsBy('reactive.tenant-3')]).to.deep.equal([1, 0, 0]);
      } finally {
        await auth.close();
      }
    });

    it('rotates refresh tokens at its token server, and revokes the family when a used one comes back', async () => {
      const server = await startRotatingTokenServer({ ttlMs: 60_000, latencyMs: 0, clients: new Map([['naive', 'secret']]) });
      const client = { id: 'naive', secret: 'secret' };
      try {
        const first = server.mint('naive');
        const second = await presentRefreshToken(server.tokenUrl, client, first);
        expect(server.verify(second.accessToken)).to.deep.equal({ client: 'naive', expired: false });
        expect(await presentRefreshToken(server.tokenUrl, client, first).catch((error: Error) => error.message)).to.equal('The token server answered 400 invalid_grant');
        // The family is gone: its newest refresh token is refused too, and is no reuse.
        expect(await presentRefreshToken(server.tokenUrl, client, second.refreshToken).catch((error: Error) => error.message)).to.equal('The token server answered 400 invalid_grant');
        expect(server.counts('naive')).to.deep.equal({ grantRequests: 3, rotations: 1, reusedRefreshTokens: 1, revokedFamilies: 1 });
        // Another family, and a wrong secret, which is not counted.
        await presentRefreshToken(server.tokenUrl, client, server.mint('naive'));
        const wrong = await presentRefreshToken(server.tokenUrl, { id: 'naive', secret: 'guess' }, second.refreshToken).catch((error: Error) => error.message);
        expect(wrong).to.equal('The token server answered 401 invalid_client');
        expect(server.counts('naive')).to.include({ grantRequests: 4, rotations: 2 });
      } finally {
        await server.close();
      }
    });
  });

  describe('flags', () => {
    it('exits 2 with a one-line error for an unknown, a non-numeric or a zero flag', async () => {
      const runs = await Promise.all([
        runDemo(['--bogus']),
        runDemo(['--parallel', 'many']),
        runDemo(['--parallel', '0']),
      ]);
      for (const run of runs) {
        expect(run.code, run.stderr).to.equal(2);
        expect(run.stdout).to.equal('');
        expect(run.stderr.trimEnd().split('\n')).to.have.length(1);
      }
      expect(runs.map((run) => run.stderr)).to.satisfy((lines: string[]) =>
        lines[0]?.includes('--bogus') && lines[1]?.includes('--parallel') && lines[2]?.includes('--parallel'),
      );
    });

    it('rejects bad values with the flag named, and takes durations with their unit, s or ms, for both flags', () => {
      expect(() => parseFlags(['--rounds', '1.5'])).to.throw(/--rounds/);
      expect(() => parseFlags(['--ttl', 'soon'])).to.throw(/--ttl/);
      expect(() => parseFlags(['--ttl', '0s'])).to.throw(/--ttl/);
      // Both durations say their unit: a bare number is refused, with the two ways to say it.
      expect(() => parseFlags(['--ttl', '2'])).to.throw("--ttl needs a unit, such as 2s or 2ms, got '2'");
      expect(() => parseFlags(['--auth-latency', '50'])).to.throw("--auth-latency needs a unit, such as 50s or 50ms, got '50'");
      expect(() => parseFlags(['--ttl', '40ms', '--auth-latency', '50ms'])).to.throw(/--ttl/);
      expect(() => parseFlags(['--parallel'])).to.throw(/--parallel/);
      expect(() => parseFlags(['extra'])).to.throw(/extra/);
      expect(() => parseFlags(['--auth', 'saml'])).to.throw(/--auth/);
      expect(() => parseFlags(['--processes', '17'])).to.throw(/--processes/);
      expect(() => parseFlags(['--redis', 'redis://127.0.0.1:6379'])).to.throw(/--processes/);
      // A Redis URL may carry a password: the error names the flag, never the value.
      const badRedis = (): unknown => parseFlags(['--processes', '2', '--redis', 'http://user:hunter2@cache']);
      expect(badRedis).to.throw(/--redis/);
      expect(badRedis).not.to.throw(/hunter2/);
      expect(parseFlags(['--processes', '4', '--redis', 'redis://127.0.0.1:6379', '--auth', 'oauth2'])).to.include({
        processes: 4,
        redisUrl: 'redis://127.0.0.1:6379',
        auth: 'oauth2',
      });
      expect(parseFlags(['--tenants', '50'])).to.include({ tenants: 50, parallel: 100 });
      expect(() => parseFlags(['--tenants', '1001'])).to.throw(/--tenants/);
      expect(() => parseFlags(['--tenants', '50', '--parallel', '20'])).to.throw('--tenants 50 needs --parallel 50 or more: each tenant needs a request a round');
      for (const other of [['--processes', '2'], ['--auth', 'oauth2'], ['--grant', 'refresh_token'], ['--svg', 'timeline.svg']]) {
        expect(() => parseFlags(['--tenants', '5', ...other])).to.throw(`--tenants runs without ${other[0]}`);
      }
      expect(parseFlags(['--grant', 'refresh_token'])).to.include({ grant: 'refresh_token' });
      expect(parseFlags(['--grant', 'refresh_token', '--processes', '4', '--redis', 'redis://127.0.0.1:6379'])).to.include({ processes: 4, grant: 'refresh_token' });
      expect(() => parseFlags(['--grant', 'password'])).to.throw("--grant must be client_credentials or refresh_token, got 'password'");
      expect(() => parseFlags(['--grant', 'refresh_token', '--processes', '4'])).to.throw(/--processes needs --redis/);
      expect(() => parseFlags(['--grant', 'refresh_token', '--auth', 'oauth2'])).to.throw(/drop --auth oauth2/);
      expect(() => parseFlags(['--grant', 'refresh_token', '--svg', 'timeline.svg'])).to.throw(/without --svg/);
      expect(parseFlags(['--ttl', '1.5s', '--auth-latency', '0.1s'])).to.include({ ttlMs: 1500, authLatencyMs: 100 });
      expect(parseFlags(['--ttl', '1200ms', '--auth-latency', '0.9s'])).to.include({ ttlMs: 1200, authLatencyMs: 900 });
      expect(parseFlags([])).to.deep.equal({
        parallel: 100,
        rounds: 3,
        ttlMs: 2000,
        authLatencyMs: 50,
        auth: 'demo',
        json: false,
        help: false,
      });
    });

    it('exits 2 with one line, before the run, for --tenants or --grant refresh_token with a flag they do not run with', async () => {
      const runs = await Promise.all([runDemo(['--tenants', '5', '--processes', '2']), runDemo(['--grant', 'refresh_token', '--processes', '2'])]);
      expect(runs.map((run) => [run.code, run.stdout, run.stderr])).to.deep.equal([
        [2, '', 'demo: --tenants runs without --processes (see --help)\n'],
        [2, '', 'demo: --grant refresh_token --processes needs --redis: the fleet row shares its refresh token through it (see --help)\n'],
      ]);
    });

    it('takes --svg with a file name, and exits 2 before the run when its folder does not exist', async () => {
      expect(parseFlags(['--svg', 'timeline.svg'])).to.include({ svg: 'timeline.svg' });
      expect(() => parseFlags(['--svg'])).to.throw(/--svg/);
      expect(() => parseFlags(['--svg='])).to.throw("--svg needs a file name, such as timeline.svg, got ''");
      const started = Date.now();
      const run = await runDemo(['--svg', join(tmpdir(), 'no-such-folder', 'timeline.svg')]);
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stdout).to.equal('');
      expect(run.stderr.trimEnd().split('\n')).to.deep.equal([`demo: --svg ${join(tmpdir(), 'no-such-folder', 'timeline.svg')}: no such folder (see --help)`]);
      // Before the servers start and the rounds run, which take seconds.
      expect(Date.now() - started).to.be.below(8_000);
    });

    it('lists every flag with its default in --help', async () => {
      const run = await runDemo(['--help']);
      expect(run.code).to.equal(0);
      for (const flag of ['--parallel', '--rounds', '--ttl', '--auth-latency', '--auth', '--processes']) {
        expect(run.stdout).to.match(new RegExp(`^\\s+${flag} .*\\(default [^)]+\\)$`, 'm'));
      }
      expect(run.stdout).to.match(/^\s+--redis <url> [^\n]*\n[^\n]*\(default none\)$/m);
      expect(run.stdout).to.match(/^\s+--svg <file> [^\n]*\n[^\n]*\(default none\)$/m);
      expect(run.stdout).to.match(/^\s+--tenants <n> [^\n]*\n[^\n]*\(default none\)$/m);
      expect(run.stdout).to.match(/^\s+--grant <grant> +client_credentials, or refresh_token[^\n]*\n[^\n]*\n[^\n]*\(default client_credentials\)$/m);
      expect(run.stdout).to.match(/^\s+--json /m);
      expect(run.stdout).to.match(/^\s+-h, --help /m);
    });
  });

  describe('a failed run', () => {
    it('names its cause on the failure line: a fleet whose Redis is not there says redis-fallback and why', async function () {
      this.timeout(40_000);
      const nowhere = `redis://127.0.0.1:${await freePort()}`;
      const run = await runDemo(['--json', '--processes', '2', '--redis', nowhere, ...small]);
      expect(run.code, run.stderr).to.equal(1);
      const report = JSON.parse(run.stdout) as { ok: boolean; reason: string; services: ServiceReport[] };
      expect(report.ok).to.equal(false);
      expect(report.services[2]?.incidents?.[0]).to.match(/^redis-fallback: .*ECONNREFUSED/);
      const last = run.stderr.trimEnd().split('\n').at(-1);
      expect(last).to.match(/^demo failed: fleet made \d+ auth calls for \d+ token rotations \(fleet: redis-fallback: .*ECONNREFUSED 127\.0\.0\.1:\d+\)$/);
      expect(last).to.equal(`demo failed: ${report.reason}`);
    });
  });

  describe('a failed --grant refresh_token run', () => {
    it('says the fleet could not put its refresh token where Redis is not there, before any process starts', async () => {
      const nowhere = `redis://127.0.0.1:${await freePort()}`;
      const run = await runDemo(['--json', '--grant', 'refresh_token', '--processes', '2', '--redis', nowhere, ...small]);
      expect(run.code, run.stderr).to.equal(1);
      const report = JSON.parse(run.stdout) as { ok: boolean; reason: string; services: GrantReport[] };
      expect(report).to.include({ ok: false });
      expect(report.services).to.deep.equal([]);
      expect(report.reason).to.match(/^fleet could not put its refresh token in Redis: .*ECONNREFUSED 127\.0\.0\.1:\d+$/);
      expect(run.stderr.trimEnd().split('\n').at(-1)).to.equal(`demo failed: ${report.reason}`);
      expect(run.stderr).not.to.match(/\[process \d\]/);
    });
  });

  describe('the reactive service', () => {
    it('calls its token source only for requests: an idle service makes no auth call, so each round counts its own', async () => {
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
      const source = sinon.stub().callsFake(async () => ({ value: `token-${source.callCount}`, expiresAt: Date.now() + 1_000 }));
      const lines: string[] = [];
      // Nothing is sent to the partner API: no request reaches the service.
      const service = await startReactiveService({ name: 'reactive', partnerOrigin: 'http://127.0.0.1:9', source, log: (line) => lines.push(line) });
      try {
        await clock.tickAsync(10_000);
        expect(source.callCount).to.equal(0);
        expect(service.rotations()).to.equal(0);
        expect(lines).to.deep.equal([]);
      } finally {
        clock.restore();
        await service.close();
      }
    });
  });

  describe('the reactive service, when its credential is gone', () => {
    it('logs a refresh failure once, not once per request that meets it', async () => {
      // What refreshTokenGrant does once the IdP revoked the family: every refresh fails at once, alike.
      const source = sinon.stub().rejects(Object.assign(new Error('the refresh token was refused'), { retryable: false }));
      const lines: string[] = [];
      const service = await startReactiveService({ name: 'per-process', partnerOrigin: 'http://127.0.0.1:9', source, log: (line) => lines.push(line) });
      try {
        const statuses = [];
        for (let request = 0; request < 3; request += 1) statuses.push((await fetch(`${service.origin}/data`)).status);
        expect(statuses).to.deep.equal([500, 500, 500]);
        expect(source.callCount).to.equal(3);
        expect(lines).to.deep.equal(['per-process: token refresh failed: ERR_TOKEN_REFRESH']);
        expect(service.incidents()).to.have.length(1);
      } finally {
        await service.close();
      }
    });
  });

  describe('verdict', () => {
    const reactive = (authCalls: number, rotations: number, failed = 0): ServiceReport => {
      const tally = new Tally('reactive');
      tally.add(1, { requests: 10, failed, latenciesMs: [1] }, { authCalls, unauthorized: 0 });
      return tally.report({ rotations });
    };

    it('names the first incident of the failing service as the cause', () => {
      const tally = new Tally('fleet');
      tally.add(1, { requests: 10, failed: 0, latenciesMs: [1] }, { authCalls: 4, unauthorized: 0 });
      const incidents = ['redis-fallback: connect: connect ECONNREFUSED 127.0.0.1:6390', 'redis-resumed'];
      expect(judge([tally.report({ rotations: 2, incidents })])).to.deep.equal({
        ok: false,
        reason: 'fleet made 4 auth calls for 2 token rotations (fleet: redis-fallback: connect: connect ECONNREFUSED 127.0.0.1:6390)',
      });
    });

    it('holds only with one auth call per rotation and no failed reactive request', () => {
      expect(judge([reactive(3, 3)]).ok).to.equal(true);
      expect(judge([reactive(4, 3)])).to.deep.equal({ ok: false, reason: 'reactive made 4 auth calls for 3 token rotations' });
      expect(judge([reactive(3, 3, 2)])).to.deep.equal({ ok: false, reason: '2 reactive requests failed' });
      expect(judge([reactive(0, 0)]).ok).to.equal(false);
    });

    it('does not claim one auth call per rotation in the summary when the counts disagree', () => {
      const naive = new Tally('naive');
      naive.add(1, { requests: 10, failed: 0, latenciesMs: [1] }, { authCalls: 10, unauthorized: 10 });
      const fleet = new Tally('fleet');
      fleet.add(1, { requests: 10, failed: 0, latenciesMs: [1] }, { authCalls: 4, unauthorized: 0 });
      const services = [naive.report({ processes: 2, shared: false }), fleet.report({ rotations: 2, processes: 2, shared: true })];
      expect(summarize(services, 10)).to.include('fleet made 4 calls for 2 token rotations shared by its 2 processes');
      expect(judge(services)).to.deep.equal({ ok: false, reason: 'fleet made 4 auth calls for 2 token rotations' });
    });

    it('holds --tenants to one auth call per tenant per rotation, and names the worst tenant per rotation', () => {
      const load = { requests: 6, failed: 0, latenciesMs: [1] };
      const reactive = new TenantTally('reactive', ['tenant-1', 'tenant-2', 'tenant-3']);
      // tenant-2's token expired twice in a long round: two calls for two rotations, one per rotation all the same.
      reactive.add(1, load, { authCalls: [1, 2, 1], rotations: [1, 2, 1], unauthorized: 0 });
      reactive.add(2, load, { authCalls: [1, 1, 1], rotations: [1, 1, 1], unauthorized: 0 });
      expect(reactive.judge()).to.deep.equal({ ok: true, reason: 'reactive: one auth call per tenant per token rotation (3 tenants), no failed request' });
      const report = reactive.report();
      expect(report.rounds.map((round) => round.worstTenant)).to.deep.equal([
        { tenant: 'tenant-2', authCalls: 2, rotations: 2 },
        { tenant: 'tenant-1', authCalls: 1, rotations: 1 },
      ]);
      expect(report).to.include({ rotations: 7, tenants: 3 });
      expect(report.total).to.include({ authCalls: 7, requests: 12 });
      const naive = new TenantTally('naive', ['tenant-1', 'tenant-2', 'tenant-3']);
      naive.add(1, load, { authCalls: [2, 2, 2], unauthorized: 0 });
      naive.add(2, load, { authCalls: [1, 3, 2], unauthorized: 6 });
      expect(naive.report().total.worstTenant).to.deep.equal({ tenant: 'tenant-2', authCalls: 3, round: 2 });
      expect(renderTenantTable([naive.report(), report]).split('\n').slice(-2)).to.deep.equal([
        'total       naive           12          12          -               3 (tenant-2)          6       0     1.0     1.0',
        '            reactive        12           7          7  2 (tenant-2, 2 rotations)          0       0     1.0     1.0',
      ]);

      const broken = new TenantTally('reactive', ['tenant-1', 'tenant-2']);
      broken.add(1, load, { authCalls: [1, 2], rotations: [1, 1], unauthorized: 0 });
      expect(broken.judge().reason).to.equal('reactive made 2 auth calls for 1 token rotations of tenant-2');
      const idle = new TenantTally('reactive', ['tenant-1', 'tenant-2']);
      idle.add(1, { ...load, failed: 1 }, { authCalls: [1, 0], rotations: [1, 0], unauthorized: 0 });
      expect(idle.judge(['tenant-2: token refresh failed: ERR_TOKEN_REFRESH: x']).reason).to.equal(
        'reactive received no token for tenant-2 (reactive: tenant-2: token refresh failed: ERR_TOKEN_REFRESH: x)',
      );
    });

    it('holds --grant refresh_token to one grant request per rotation, no reuse, no revocation and no failure', () => {
      const fleet = (counts: Partial<GrantRoundCounts>, rotations: number, failed = 0): GrantReport => {
        const tally = new Tally<GrantRoundCounts>('fleet');
        tally.add(1, { requests: 10, failed, latenciesMs: [1] }, { grantRequests: 2, reusedRefreshTokens: 0, revokedFamilies: 0, unauthorized: 0, ...counts });
        return tally.report({ rotations, processes: 4, shared: true });
      };
      expect(judgeGrant(fleet({}, 2)).ok).to.equal(true);
      expect(judgeGrant(fleet({}, 1)).reason).to.equal('fleet made 2 grant requests for 1 token rotations');
      expect(judgeGrant(fleet({ reusedRefreshTokens: 1 }, 2)).reason).to.equal('fleet presented 1 used refresh tokens again');
      expect(judgeGrant(fleet({ revokedFamilies: 1 }, 2)).reason).to.equal("the token server revoked fleet's refresh token family");
      expect(judgeGrant(fleet({}, 2, 3)).reason).to.equal('3 fleet requests failed');
      expect(judgeGrant(fleet({ grantRequests: 0 }, 0)).reason).to.equal('fleet received no token');
    });

    it('takes percentiles by nearest rank', () => {
      const values = Array.from({ length: 100 }, (_, index) => 100 - index);
      expect(percentile(values, 50)).to.equal(50);
      expect(percentile(values, 99)).to.equal(99);
      expect(percentile([7], 99)).to.equal(7);
      expect(percentile([], 50)).to.equal(0);
    });
  });

  describe('progress', () => {
    let clock: sinon.SinonFakeTimers;
    beforeEach(() => {
      clock = sinon.useFakeTimers();
    });
    afterEach(() => clock.restore());

    const sink = (isTTY: boolean) => {
      const chunks: string[] = [];
      return { chunks, stream: { isTTY, write: (text: string) => chunks.push(text) } };
    };

    it('stays silent for a task shorter than a second', () => {
      const { chunks, stream } = sink(true);
      const progress = createTerminal(stream).progress('round 2 naive', 10);
      clock.tick(999);
      progress.done();
      clock.tick(5_000);
      expect(chunks).to.deep.equal([]);
      expect(clock.countTimers()).to.equal(0);
    });

    it('prints plain lines, once a second, to a pipe', () => {
      const { chunks, stream } = sink(false);
      const terminal = createTerminal(stream);
      const progress = terminal.progress('round 2 naive', 10);
      progress.tick();
      clock.tick(1_000);
      progress.tick();
      clock.tick(1_000);
      terminal.log('reactive: token rotation #2');
      progress.done();
      expect(chunks).to.deep.equal([
        'round 2 naive: 1/10 requests\n',
        'round 2 naive: 2/10 requests\n',
        'reactive: token rotation #2\n',
        'round 2 naive: 2/10 requests, done\n',
      ]);
      expect(chunks.join('')).not.to.match(CONTROL);
      expect(clock.countTimers()).to.equal(0);
    });

    it('redraws a bar in place on a terminal, and keeps log lines above it', () => {
      const { chunks, stream } = sink(true);
      const terminal = createTerminal(stream);
      const progress = terminal.progress('round 2 naive', 4);
      progress.tick();
      clock.tick(1_000);
      expect(chunks.at(-1)).to.equal('\r\x1b[Kround 2 naive [#####...............] 1/4');
      terminal.log('reactive: token rotation #2');
      expect(chunks.at(-1)).to.equal('\r\x1b[Kreactive: token rotation #2\nround 2 naive [#####...............] 1/4');
      progress.tick();
      clock.tick(100);
      expect(chunks.at(-1)).to.equal('\r\x1b[Kround 2 naive [##########..........] 2/4');
      progress.done();
      expect(chunks.slice(-2)).to.deep.equal(['\r\x1b[K', 'round 2 naive: 2/4 requests, done\n']);
      expect(clock.countTimers()).to.equal(0);
    });
  });
});
