import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The path of a file in spec/fixtures. */
export const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/** Runs `code` as an ES module in a fresh Node process with the specs' settings, and `env` added to this one's; its stdout. */
export async function inChild(code: string, preload: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [...preload, '--import', 'tsx', '--conditions=rx-token-stream-source', '--input-type=module', '-e', code],
    { cwd: process.cwd(), env: { ...process.env, ...env } },
  );
  return stdout.trim();
}

/**
 * Runs `code` in a fresh Node process that records every module it resolves (see
 * spec/fixtures/module-hooks.mjs); resolves with its stdout and the URLs of those modules.
 */
export async function recordingModules(code: string): Promise<{ stdout: string; urls: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'rx-token-stream-'));
  const record = join(dir, 'modules.txt');
  try {
    const stdout = await inChild(`
      import { register } from 'node:module';
      register(${JSON.stringify(pathToFileURL(fixture('module-hooks.mjs')).href)}, { data: { record: ${JSON.stringify(record)} } });
      ${code}
    `);
    return { stdout, urls: (await readFile(record, 'utf8')).trim().split('\n') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
