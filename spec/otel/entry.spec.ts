import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { inChild, recordingModules } from '../support/child.js';

const OTEL = 'rx-token-stream/otel';
const withoutApi = fileURLToPath(new URL('./without-api.cjs', import.meta.url));

/** Whether importing `entry` in a fresh process loads @opentelemetry/api, by import or require. */
async function loadsApi(entry: string): Promise<boolean> {
  const { stdout, urls } = await recordingModules(`
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(entry)});
    const { _cache } = createRequire(import.meta.url)('node:module');
    console.log(Object.keys(_cache).some((file) => file.includes('/node_modules/@opentelemetry/')));
  `);
  return stdout === 'true' || urls.some((url) => url.includes('/node_modules/@opentelemetry/'));
}

describe('otel: package entries', () => {
  it('keeps @opentelemetry/api out of rx-token-stream, and loads it for the otel entry', async () => {
    const [core, otel] = await Promise.all([loadsApi('rx-token-stream'), loadsApi(OTEL)]);
    expect(core, 'rx-token-stream loads @opentelemetry/api').to.equal(false);
    expect(otel, 'the otel entry loads @opentelemetry/api').to.equal(true);
  });

  it('says to install @opentelemetry/api when the otel entry is loaded without it, and rx-token-stream does without it', async () => {
    const code = `
      const { TokenStream } = await import('rx-token-stream');
      console.log(typeof TokenStream);
      try {
        await import(${JSON.stringify(OTEL)});
        console.log('loaded');
      } catch (error) {
        console.log(JSON.stringify({ message: error.message, code: error.code, cause: error.cause?.code }));
      }
    `;
    const [core, otel] = (await inChild(code, ['--require', withoutApi])).split('\n');
    expect(core, 'rx-token-stream itself does without @opentelemetry/api').to.equal('function');
    expect(JSON.parse(otel as string)).to.deep.equal({
      message: 'rx-token-stream/otel needs @opentelemetry/api: npm install @opentelemetry/api',
      code: 'ERR_MODULE_NOT_FOUND',
      cause: 'MODULE_NOT_FOUND',
    });
  });

  it('loads the core modules it needs, not the whole package nor its HTTP clients', async () => {
    const { urls } = await recordingModules(`await import(${JSON.stringify(OTEL)});`);
    expect(urls.some((url) => url.endsWith('/lib/otel/instrument.ts')), 'the record works').to.equal(true);
    for (const unwanted of ['/node_modules/node-fetch/', '/node_modules/oauth4webapi/', '/lib/index.ts', '/lib/http/', '/lib/redis/']) {
      expect(urls.filter((url) => url.includes(unwanted)), unwanted).to.deep.equal([]);
    }
  });
});
