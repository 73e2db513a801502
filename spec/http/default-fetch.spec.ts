import { expect } from 'chai';
import { recordingModules } from '../support/child.js';

const loadsNodeFetch = (urls: string[]): boolean => urls.some((url) => url.includes('/node_modules/node-fetch/'));

describe('the default fetch', () => {
  it('is not loaded by importing the package, nor by requests through a fetch the caller gave', async function () {
    this.timeout(20_000);
    const { stdout, urls } = await recordingModules(`
      import { createServer } from 'node:http';
      const { TokenStream, authFetch, clientCredentials } = await import('rx-token-stream');
      const server = createServer((req, res) => res.end(req.headers.authorization ?? 'none'));
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const origin = 'http://127.0.0.1:' + server.address().port;
      clientCredentials({ tokenUrl: origin + '/token', clientId: 'c', clientSecret: 's', fetch: globalThis.fetch });
      const tokens = new TokenStream({ source: async () => ({ value: 'abc' }) });
      const response = await authFetch(tokens, { origins: [origin], fetch: globalThis.fetch })(origin + '/');
      console.log(await response.text());
      server.close();
    `);
    expect(stdout).to.equal('Bearer abc');
    expect(urls.some((url) => url.endsWith('/lib/http/auth-fetch.ts')), 'the record works').to.equal(true);
    expect(loadsNodeFetch(urls), 'node-fetch was loaded').to.equal(false);
  });

  it('is node-fetch, loaded by the first request that uses it', async function () {
    this.timeout(20_000);
    const { stdout, urls } = await recordingModules(`
      import { createServer } from 'node:http';
      const { TokenStream, authFetch } = await import('rx-token-stream');
      const server = createServer((req, res) => res.end(req.headers['user-agent'] ?? ''));
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const origin = 'http://127.0.0.1:' + server.address().port;
      const fetch = authFetch(new TokenStream({ source: async () => ({ value: 'abc' }) }), { origins: [origin] });
      const [a, b] = await Promise.all([fetch(origin + '/'), fetch(origin + '/')]);
      console.log(await a.text(), await b.text());
      server.close();
    `);
    expect(stdout).to.match(/^node-fetch node-fetch$/);
    expect(loadsNodeFetch(urls)).to.equal(true);
  });
});
