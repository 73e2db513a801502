import { expect } from 'chai';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { recordingModules } from '../support/child.js';

// The entries' modules, by path: package.json does not map them yet.
const entry = (client: string): string => pathToFileURL(fileURLToPath(new URL(`../../lib/adapters/${client}/index.ts`, import.meta.url))).href;
const CLIENTS = ['undici', 'axios', 'ky', 'got'];
const loaded = (urls: string[]): string[] => CLIENTS.filter((client) => urls.some((url) => url.includes(`/node_modules/${client}/`)));

describe('client adapters: package entries', () => {
  it('keeps every HTTP client out of rx-token-stream', async () => {
    const { urls } = await recordingModules(`await import('rx-token-stream');`);
    expect(urls.some((url) => url.endsWith('/lib/index.ts')), 'the record works').to.equal(true);
    expect(loaded(urls)).to.deep.equal([]);
  });

  it("loads no HTTP client, node-fetch included, for an adapter entry: each works on the application's own client", async () => {
    const { stdout, urls } = await recordingModules(`
      const names = [];
      for (const client of ${JSON.stringify(CLIENTS)}) {
        const module = await import(${JSON.stringify(entry('CLIENT'))}.replace('CLIENT', client));
        names.push(...Object.keys(module));
      }
      console.log(names.join(' '));
    `);
    expect(stdout).to.equal('authInterceptor axiosAuth kyAuth gotAuth');
    expect(loaded(urls)).to.deep.equal([]);
    expect(urls.filter((url) => url.includes('/node_modules/node-fetch/') || url.endsWith('/lib/index.ts'))).to.deep.equal([]);
  });
});
