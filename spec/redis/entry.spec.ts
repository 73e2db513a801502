import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/** Runs `code` as an ES module in a fresh Node process with the specs' settings; its stdout. */
async function inChild(code: string, preload: string[] = []): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [...preload, '--import', 'tsx', '--conditions=rx-token-stream-source', '--input-type=module', '-e', code],
    { cwd: process.cwd() },
  );
  return stdout.trim();
}

/** Which package entries load ioredis, asked of a fresh Node process. */
async function loadsIoredis(entry: string): Promise<boolean> {
  const code = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(entry)});
    const { _cache } = createRequire(import.meta.url)('node:module');
    console.log(Object.keys(_cache).some((file) => file.includes('/node_modules/ioredis/')));
  `;
  return (await inChild(code)) === 'true';
}

describe('package entries', () => {
  it('keeps ioredis out of rx-token-stream, and loads it for rx-token-stream/redis', async () => {
    const [core, redis] = await Promise.all([loadsIoredis('rx-token-stream'), loadsIoredis('rx-token-stream/redis')]);
    expect(core, 'rx-token-stream loads ioredis').to.equal(false);
    expect(redis, 'rx-token-stream/redis loads ioredis').to.equal(true);
  });

  it('says to install ioredis when rx-token-stream/redis is loaded without it', async () => {
    const code = `
      try {
        await import('rx-token-stream/redis');
        console.log('loaded');
      } catch (error) {
        console.log(JSON.stringify({ message: error.message, code: error.code, cause: error.cause?.code }));
      }
      const { TokenStream } = await import('rx-token-stream');
      console.log(typeof TokenStream);
    `;
    const [redis, core] = (await inChild(code, ['--require', fixture('without-ioredis.cjs')])).split('\n');
    expect(JSON.parse(redis as string)).to.deep.equal({
      message: 'rx-token-stream/redis needs ioredis: npm install ioredis',
      code: 'ERR_MODULE_NOT_FOUND',
      cause: 'MODULE_NOT_FOUND',
    });
    expect(core, 'rx-token-stream itself does without ioredis').to.equal('function');
  });

  it('loads the core modules rx-token-stream/redis needs, not the whole package', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rx-token-stream-'));
    const record = join(dir, 'modules.txt');
    try {
      await inChild(`
        import { register } from 'node:module';
        register(${JSON.stringify(pathToFileURL(fixture('module-hooks.mjs')).href)}, { data: { record: ${JSON.stringify(record)} } });
        await import('rx-token-stream/redis');
      `);
      const urls = (await readFile(record, 'utf8')).trim().split('\n');
      expect(urls.some((url) => url.endsWith('/lib/redis/shared-source.ts')), 'the record works').to.equal(true);
      for (const unwanted of ['/node_modules/node-fetch/', '/node_modules/oauth4webapi/', '/lib/index.ts']) {
        expect(urls.filter((url) => url.includes(unwanted)), unwanted).to.deep.equal([]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
