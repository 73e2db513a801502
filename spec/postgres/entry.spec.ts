import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { inChild, recordingModules } from '../support/child.js';

const ENTRY = 'rx-token-stream/postgres';
const WITHOUT_PG = fileURLToPath(new URL('./without-pg.cjs', import.meta.url));

/** Whether importing `entry` in a fresh Node process loads pg. */
async function loadsPg(entry: string): Promise<boolean> {
  const code = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(entry)});
    const { _cache } = createRequire(import.meta.url)('node:module');
    console.log(Object.keys(_cache).some((file) => file.includes('/node_modules/pg/')));
  `;
  return (await inChild(code)) === 'true';
}

describe('the rx-token-stream/postgres entry', () => {
  it('keeps pg out of rx-token-stream, and loads it for the postgres entry', async () => {
    const [core, postgres] = await Promise.all([loadsPg('rx-token-stream'), loadsPg(ENTRY)]);
    expect(core, 'rx-token-stream loads pg').to.equal(false);
    expect(postgres, 'the postgres entry loads pg').to.equal(true);
  });

  it('says to install pg when the entry is loaded without it, and the core does without', async () => {
    const code = `
      try {
        await import(${JSON.stringify(ENTRY)});
        console.log('loaded');
      } catch (error) {
        console.log(JSON.stringify({ message: error.message, code: error.code, cause: error.cause?.code }));
      }
      const { TokenStream } = await import('rx-token-stream');
      console.log(typeof TokenStream);
    `;
    const [postgres, core] = (await inChild(code, ['--require', WITHOUT_PG])).split('\n');
    expect(JSON.parse(postgres as string)).to.deep.equal({
      message: 'rx-token-stream/postgres needs pg: npm install pg',
      code: 'ERR_MODULE_NOT_FOUND',
      cause: 'MODULE_NOT_FOUND',
    });
    expect(core).to.equal('function');
  });

  it('loads the core modules it needs, not the whole package, nor ioredis or the HTTP half', async () => {
    const { urls } = await recordingModules(`await import(${JSON.stringify(ENTRY)});`);
    expect(urls.some((url) => url.endsWith('/lib/postgres/credential-store.ts')), 'the record works').to.equal(true);
    for (const unwanted of ['/node_modules/ioredis/', '/node_modules/node-fetch/', '/node_modules/oauth4webapi/', '/lib/index.ts']) {
      expect(urls.filter((url) => url.includes(unwanted)), unwanted).to.deep.equal([]);
    }
  });
});
