/** Starts the partner server in a child process, and talks to it for the bench. */
import { fork, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import type { Token } from 'rx-token-stream';
import { clock } from '../contenders/contender.js';
import type { PartnerConfig, PartnerStats } from './partner-server.js';

/** A running partner server. */
export interface Partner {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  configure(config: Partial<PartnerConfig>): Promise<PartnerStats>;
  /** Revokes the current token: the API rejects it from now on. */
  revoke(): Promise<PartnerStats>;
  /** Zeroes the counters. */
  reset(): Promise<PartnerStats>;
  stats(): Promise<PartnerStats>;
  /** The plain token source every contender uses: one POST /token per call. */
  authCall(): Promise<Token>;
  close(): Promise<void>;
}

// Control calls use their own connection each, so that they never queue behind the load.
function post(port: number, path: string, body = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks).toString()));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The plain token source every contender uses: one POST /token to the partner on `port`. */
export async function authCallTo(port: number): Promise<Token> {
  const body = JSON.parse(await post(port, '/token')) as { access_token: string; expires_in_ms: number };
  return { value: body.access_token, expiresAt: clock.now() + body.expires_in_ms };
}

/** Forks the partner server and waits until it listens. */
export async function startPartner(config: Partial<PartnerConfig> = {}): Promise<Partner> {
  const child: ChildProcess = fork(new URL('./partner-server.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve(message.port));
    child.once('exit', (code) => reject(new Error(`partner server exited (${code})`)));
  });
  const controlCall = async (action: string, body?: unknown): Promise<PartnerStats> =>
    JSON.parse(await post(port, `/control/${action}`, body === undefined ? '' : JSON.stringify(body))) as PartnerStats;
  const partner: Partner = {
    origin: `http://127.0.0.1:${port}`,
    configure: (next) => controlCall('config', next),
    revoke: () => controlCall('revoke'),
    reset: () => controlCall('reset'),
    stats: () => controlCall('stats'),
    port,
    authCall: () => authCallTo(port),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
  await partner.configure(config);
  return partner;
}
