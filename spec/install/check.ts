// `node --import tsx spec/install/check.ts`, run by .ci/run: does the package install and run
// the way the README says, for a user with plain node and no TypeScript?
//
// 1. `npm pack` (which builds dist/ through `prepare`), and a look at what the tarball holds.
// 2. A fresh project installs the tarball with rxjs and ioredis, as the README's commands do,
//    and imports both entries with plain `node`.
// 3. The README's quick starts marked `<!-- install-check: name -->` run there as .mjs files,
//    and must exit 0 by themselves: the TokenStream one printing what its comments say, the
//    Redis one against a loopback token endpoint, once with REDIS_URL and once with no Redis
//    there, without ioredis complaining of an unhandled error event.
// 4. Another fresh project installs the package from git (this clone's HEAD), which only
//    works when `prepare` builds dist/, and imports both entries.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { codeBlocks, root, type CodeBlock } from '../docs/markdown.js';

interface Run {
  code: number | null;
  stdout: string;
  output: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: timeoutMs, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, output: `${stdout}${stderr}` });
    });
  });
}

/** A step that did not go as the README says; the output it printed goes with it. */
class CheckFailure extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

function fail(message: string, output = ''): never {
  throw new CheckFailure(message, output);
}

const say = (line: string): void => void process.stdout.write(`install check: ${line}\n`);

/** A fresh project folder with a package.json of its own, as `npm init` would leave it. */
function freshProject(dir: string): string {
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'install-check', private: true, type: 'module' }, null, 2)}\n`);
  return dir;
}

const IMPORT_BOTH = [
  '--input-type=module',
  '-e',
  "const [core, redis] = await Promise.all([import('rx-token-stream'), import('rx-token-stream/redis')]);" +
    'console.log(typeof core.TokenStream, typeof core.authFetch, typeof core.clientCredentials, typeof redis.redisShared);',
];

async function importsBothEntries(project: string, how: string): Promise<void> {
  const entries = await run(process.execPath, IMPORT_BOTH, project);
  if (entries.code !== 0 || entries.stdout.trim() !== 'function function function function') {
    fail(`importing both entries with node after ${how} failed`, entries.output);
  }
  say(`${how}: imported 'rx-token-stream' and 'rx-token-stream/redis' with plain node`);
}

/** Every file an `exports` map points at, as `./dist/index.js`. */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (typeof exports !== 'object' || exports === null) return [];
  return Object.values(exports).flatMap(exportTargets);
}

/**
 * Whether a debugger can show the TypeScript behind each compiled file of an installed
 * package: every source map holds the sources' text, and names sources that were shipped.
 */
function checkSourceMaps(installed: string): void {
  const maps = readdirSync(join(installed, 'dist'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js.map'));
  if (maps.length === 0) fail('the installed package has no source maps');
  for (const map of maps) {
    const { sources = [], sourcesContent = [] } = JSON.parse(readFileSync(join(installed, 'dist', map), 'utf8')) as { sources?: string[]; sourcesContent?: string[] };
    const missing = sources.filter((source, i) => typeof sourcesContent[i] !== 'string' || !existsSync(join(installed, 'dist', dirname(map), source)));
    if (sources.length === 0 || missing.length > 0) fail(`dist/${map} lacks the text or the shipped file of ${missing.join(', ') || 'its sources'}`);
  }
  say(`${maps.length} source maps hold their sources' text, and name files shipped in lib/`);
}

/** What a block's `console.log(...); // expected` lines say it prints, in order. */
const promisedOutput = (block: CodeBlock): string[] =>
  block.code.split('\n').flatMap((line) => /^\s*console\.log\(.*\);\s*\/\/ (.*)$/.exec(line)?.[1] ?? []);

/** A client-credentials token endpoint on loopback, for the Redis quick start. */
async function tokenEndpoint(): Promise<{ url: string; close: () => Promise<void> }> {
  let issued = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      issued += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: `install-check-${issued}`, token_type: 'Bearer', expires_in: 3600 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/oauth/token`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function runQuickStart(project: string, block: CodeBlock, label: string, env: NodeJS.ProcessEnv): Promise<void> {
  const name = block.notes['install-check'] as string;
  writeFileSync(join(project, `${name}.mjs`), block.code);
  const startedAt = Date.now();
  const ran = await run(process.execPath, [`${name}.mjs`], project, env, 30_000);
  const where = `README.md line ${block.line} (${name}${label})`;
  if (ran.code !== 0) fail(`${where} did not exit 0 by itself within 30 s (exit ${ran.code ?? 'killed'})`, ran.output);
  if (/Unhandled error event/.test(ran.output)) fail(`${where} left an ioredis error unhandled`, ran.output);
  const promised = promisedOutput(block);
  const printed = ran.stdout.trimEnd().split('\n');
  if (promised.length > 0 && promised.join('\n') !== printed.join('\n')) {
    fail(`${where} printed something other than its comments say:\n${promised.join('\n')}`, ran.output);
  }
  say(`${where}: exit 0 by itself in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
}

async function main(scratch: string): Promise<void> {
  const packed = await run('npm', ['pack', '--silent', '--pack-destination', scratch], root);
  const tarball = readdirSync(scratch).find((name) => name.endsWith('.tgz'));
  if (packed.code !== 0 || tarball === undefined) fail('npm pack failed', packed.output);
  const listed = await run('tar', ['-tzf', join(scratch, tarball)], scratch);
  const files = listed.stdout.split('\n').filter((line) => line !== '');
  const expected = ['dist/index.js', 'dist/index.js.map', 'dist/index.d.ts', 'dist/redis/index.js', 'lib/index.ts', 'lib/redis/index.ts', 'LICENSE', 'README.md'];
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports?: unknown };
  const targets = exportTargets(manifest.exports).map((target) => target.replace(/^\.\//, ''));
  for (const file of [...expected, ...targets]) if (!files.includes(`package/${file}`)) fail(`${tarball} lacks ${file}`, listed.output);
  const stray = files.filter((file) => !/^package\/(dist|lib)\//.test(file) && !/^package\/(LICENSE|README\.md|package\.json)$/.test(file));
  if (stray.length > 0) fail(`${tarball} holds files a user does not need`, stray.join('\n'));
  say(`packed ${tarball} (${files.length} files: dist/, lib/, LICENSE, README.md, package.json), with every file its exports name`);

  const project = freshProject(join(scratch, 'from-tarball'));
  const installed = await run('npm', ['install', '--no-audit', '--no-fund', join(scratch, tarball), 'rxjs', 'ioredis'], project);
  if (installed.code !== 0) fail('npm install of the tarball, rxjs and ioredis failed', installed.output);
  await importsBothEntries(project, 'npm install <tarball> rxjs ioredis');
  checkSourceMaps(join(project, 'node_modules', 'rx-token-stream'));

  const quickStarts = codeBlocks('README.md').filter((block) => block.notes['install-check'] !== undefined);
  const byName = new Map(quickStarts.map((block) => [block.notes['install-check'], block]));
  const tokenStream = byName.get('token-stream');
  const redis = byName.get('redis');
  if (tokenStream === undefined || redis === undefined) fail('README.md must mark its token-stream and redis quick starts with <!-- install-check: name -->');
  await runQuickStart(project, tokenStream, '', {});
  const endpoint = await tokenEndpoint();
  try {
    const client = { TOKEN_URL: endpoint.url, CLIENT_ID: 'install-check', CLIENT_SECRET: 'install-check-secret' };
    if (process.env.REDIS_URL !== undefined) await runQuickStart(project, redis, ', with REDIS_URL', client);
    else if (process.env.REQUIRE_REDIS === '1') fail('REDIS_URL is not set, and REQUIRE_REDIS=1');
    else say('no REDIS_URL: the Redis quick start runs only with no Redis there');
    const nowhere = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    await runQuickStart(project, redis, ', with no Redis there', { ...client, REDIS_URL: `redis://127.0.0.1:${nowhere}` });
  } finally {
    await endpoint.close();
  }

  // From git: npm clones HEAD, installs its dev dependencies, and runs `prepare` to build dist/.
  const fromGit = freshProject(join(scratch, 'from-git'));
  const cloned = await run('npm', ['install', '--no-audit', '--no-fund', `git+file://${root}`, 'rxjs', 'ioredis'], fromGit);
  if (cloned.code !== 0) fail('npm install from git failed', cloned.output);
  await importsBothEntries(fromGit, 'npm install git+file://<this clone> rxjs ioredis (its HEAD)');
}

const scratch = mkdtempSync(join(tmpdir(), 'rx-token-stream-install-'));
try {
  await main(scratch);
  say('passed');
} catch (error) {
  if (!(error instanceof CheckFailure)) throw error;
  process.stderr.write(`install check FAILED: ${error.message}\n${error.output.replace(/^/gm, '  | ')}\n`);
  process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
