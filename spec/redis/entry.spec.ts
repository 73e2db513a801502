import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Which package entries load ioredis, asked of a fresh Node process. */
async function loadsIoredis(entry: string): Promise<boolean> {
  const code = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(entry)});
    const { _cache } = createRequire(import.meta.url)('node:module');
    console.log(Object.keys(_cache).some((file) => file.includes('/node_modules/ioredis/')));
  `;
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--conditions=rx-token-stream-source', '--input-type=module', '-e', code],
    { cwd: process.cwd() },
  );
  return stdout.trim() === 'true';
}

describe('package entries', () => {
  it('keeps ioredis out of rx-token-stream, and loads it for rx-token-stream/redis', async () => {
    const [core, redis] = await Promise.all([loadsIoredis('rx-token-stream'), loadsIoredis('rx-token-stream/redis')]);
    expect(core, 'rx-token-stream loads ioredis').to.equal(false);
    expect(redis, 'rx-token-stream/redis loads ioredis').to.equal(true);
  });
});
