import { expect } from 'chai';
import { recordingModules } from '../support/child.js';

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
        const module = await import('rx-token-stream/' + client);
        names.push(...Object.keys(module));
      }
      console.log(names.join(' '));
    `);
    expect(stdout).to.equal('authInterceptor axiosAuth kyAuth gotAuth');
    expect(loaded(urls)).to.deep.equal([]);
    expect(urls.some((url) => url.endsWith('/lib/adapters/undici/interceptor.ts')), 'the record works').to.equal(true);
    expect(urls.filter((url) => url.includes('/node_modules/node-fetch/') || url.endsWith('/lib/index.ts'))).to.deep.equal([]);
  });
});
