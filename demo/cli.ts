import { parseArgs } from 'node:util';
import type { AuthKind } from './services.js';

/** What a demo run is asked to do. */
export interface DemoOptions {
  /** Requests per round and service; the first round sends them one at a time. */
  parallel: number;
  rounds: number;
  /** Token lifetime, ms (`--ttl 2s`). */
  ttlMs: number;
  /** Auth server latency, ms (`--auth-latency 50ms`). */
  authLatencyMs: number;
  /** The demo's own token service, or a real OAuth2 server. */
  auth: AuthKind;
  /** Run the services in this many forked processes; absent: in the demo's own process. */
  processes?: number;
  /** Where the `fleet` service shares its token; it needs `processes`. */
  redisUrl?: string;
  /** Print the results as JSON (progress and logs then go to stderr). */
  json: boolean;
  /** Also write a timeline of the run, as an SVG picture, to this file. */
  svg?: string;
  /**
   * Serve this many tenants, each with its own credentials at the token service, and spread
   * each round's requests over them (see tenants.ts). Absent: one client per service.
   */
  tenants?: number;
  /**
   * The grant the services use: client credentials (the default run), or refresh tokens
   * that the token server rotates and revokes on reuse (see refresh-run.ts).
   */
  grant?: Grant;
  help: boolean;
}

/** The OAuth2 grants the demo runs. */
export type Grant = 'client_credentials' | 'refresh_token';

/** A flag the demo cannot run with; the runner prints its message and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError' as const;
}

/** What `--help` prints: every flag with its default. */
export const HELP = `Usage: npm run demo -- [flags]

Runs an auth server, a partner API, and two services in front of it (naive, and
reactive on rx-token-stream) on 127.0.0.1, loads both, and prints what each cost.
With --processes and --redis, a third service (fleet) shares its token through Redis.
With --tenants, the services hold one token per tenant; with --grant refresh_token,
they refresh rotating refresh tokens, which the token server revokes on reuse.

Flags:
  --parallel <n>         requests per round and service, 1 to 2000; round 1 sends them one at a time (default 100)
  --rounds <n>           rounds of load, 1 to 100; the token expires between rounds (default 3)
  --ttl <duration>       token lifetime with its unit, e.g. 2s or 500ms (default 2s)
  --auth-latency <dur>   auth server latency with its unit, e.g. 50ms or 0.1s (default 50ms)
  --auth <demo|oauth2>   auth server: the demo's token service, or a real OAuth2 server (default demo)
  --processes <n>        run the services in n forked processes, 1 to 16 (default none: in the demo's own)
  --redis <url>          with --processes: add a fleet service that shares its token through the Redis
                         at this redis:// URL (default none)
  --json                 print the results as JSON on stdout (logs go to stderr)
  --svg <file>           also draw the run as a timeline (requests, auth calls, new tokens per service)
                         into an SVG picture at <file> (default none)
  --tenants <n>          serve n tenants, 1 to 1000, each with its own credentials: naive keeps a Map of
                         tokens, reactive a TokenStreams; each round's requests are spread over them (default none)
  --grant <grant>        client_credentials, or refresh_token: the services use rotating refresh tokens, which
                         the token server revokes, family and all, on reuse; with --processes, give --redis
                         for the fleet row, whose processes share them (default client_credentials)
  -h, --help             show this help

Exit code: 0 when the reactive service made one auth call per token rotation (per process;
for fleet, one for all processes) and no reactive or fleet request failed; with --tenants,
one per tenant per rotation; with --grant refresh_token, one grant request per rotation
(fleet-wide with --processes), no reused refresh token, no revoked family and no failed
request. 1 otherwise, with the reason; 2 for a bad flag.`;

/**
 * Reads the demo's flags.
 *
 * @throws {UsageError} for an unknown flag, a missing or non-numeric value, or a value out of range.
 */
export function parseFlags(argv: string[]): DemoOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        parallel: { type: 'string', default: '100' },
        rounds: { type: 'string', default: '3' },
        ttl: { type: 'string', default: '2s' },
        'auth-latency': { type: 'string', default: '50ms' },
        auth: { type: 'string', default: 'demo' },
        processes: { type: 'string' },
        redis: { type: 'string' },
        json: { type: 'boolean', default: false },
        svg: { type: 'string' },
        tenants: { type: 'string' },
        grant: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    // node's messages go on with advice about positionals; the first sentence is the point.
    const first = String((error as Error).message).split(/\. /)[0] ?? 'bad flags';
    throw new UsageError(first.charAt(0).toLowerCase() + first.slice(1));
  }
  const options: DemoOptions = {
    parallel: count('--parallel', values.parallel, 2_000),
    rounds: count('--rounds', values.rounds, 100),
    ttlMs: duration('--ttl', values.ttl),
    authLatencyMs: duration('--auth-latency', values['auth-latency']),
    auth: authKind(values.auth),
    ...(values.processes === undefined ? {} : { processes: count('--processes', values.processes, 16) }),
    ...(values.redis === undefined ? {} : { redisUrl: redisUrl(values.redis) }),
    json: values.json,
    ...(values.svg === undefined ? {} : { svg: svgFile(values.svg) }),
    ...(values.tenants === undefined ? {} : { tenants: count('--tenants', values.tenants, 1_000) }),
    ...(values.grant === undefined ? {} : { grant: grant(values.grant) }),
    help: values.help,
  };
  if (options.redisUrl !== undefined && options.processes === undefined) {
    throw new UsageError('--redis shares a token between processes: give --processes too');
  }
  if (options.authLatencyMs >= options.ttlMs) {
    throw new UsageError('--ttl must be longer than --auth-latency, or every token arrives expired');
  }
  if (options.tenants !== undefined) checkTenants(options, options.tenants);
  if (options.grant === 'refresh_token') checkRefreshGrant(options);
  return options;
}

/** --tenants runs the demo's own token service, which knows each tenant's credentials, in this process. */
function checkTenants(options: DemoOptions, tenants: number): void {
  const without = (flag: string): never => {
    throw new UsageError(`--tenants runs without ${flag}`);
  };
  if (options.processes !== undefined) without('--processes');
  if (options.auth !== 'demo') without('--auth oauth2: the demo\'s token service knows each tenant\'s credentials');
  if (options.grant === 'refresh_token') without('--grant refresh_token');
  if (options.svg !== undefined) without('--svg');
  if (tenants > options.parallel) {
    throw new UsageError(`--tenants ${tenants} needs --parallel ${tenants} or more: each tenant needs a request a round`);
  }
}

/** --grant refresh_token runs against the demo's own token server, the only one here that rotates refresh tokens. */
function checkRefreshGrant(options: DemoOptions): void {
  if (options.auth !== 'demo') throw new UsageError('--grant refresh_token runs against the demo\'s own token server: drop --auth oauth2');
  if (options.svg !== undefined) throw new UsageError('--grant refresh_token runs without --svg');
  if (options.processes !== undefined && options.redisUrl === undefined) {
    throw new UsageError('--grant refresh_token --processes needs --redis: the fleet row shares its refresh token through it');
  }
}

function grant(value: string): Grant {
  if (value !== 'client_credentials' && value !== 'refresh_token') {
    throw new UsageError(`--grant must be client_credentials or refresh_token, got '${value}'`);
  }
  return value;
}

function count(flag: string, value: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`${flag} must be a whole number from 1 to ${max}, got '${value}'`);
  }
  return Number(value);
}

function svgFile(value: string): string {
  // `--svg --json` would otherwise write a file named --json.
  if (value === '' || value.startsWith('-')) throw new UsageError(`--svg needs a file name, such as timeline.svg, got '${value}'`);
  return value;
}

function authKind(value: string): AuthKind {
  if (value !== 'demo' && value !== 'oauth2') throw new UsageError(`--auth must be demo or oauth2, got '${value}'`);
  return value;
}

function redisUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  // Never echo the value: a Redis URL may carry a password.
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:')) {
    throw new UsageError('--redis must be a redis:// or rediss:// URL');
  }
  return value;
}

/**
 * `2s` or `500ms`. Both flags say their unit: a bare number is refused rather than read in
 * a unit the user would have to guess.
 */
function duration(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(value);
  if (match === null && /^\d+(?:\.\d+)?$/.test(value)) {
    throw new UsageError(`${flag} needs a unit, such as ${value}s or ${value}ms, got '${value}'`);
  }
  if (match === null) throw new UsageError(`${flag} must be a duration such as 2s or 500ms, got '${value}'`);
  const ms = Number(match[1]) * (match[2] === 's' ? 1000 : 1);
  if (flag === '--ttl' && ms <= 0) throw new UsageError(`${flag} must be longer than 0, got '${value}'`);
  return ms;
}

/** A duration the way the flags take it: `50ms` below a second, `2s` or `1.5s` above. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}
