import axios from 'axios';
import { expect } from 'chai';
import { TokenStream } from 'rx-token-stream';
import { axiosAuth } from 'rx-token-stream/axios';
import { gotAuth } from 'rx-token-stream/got';
import { kyAuth } from 'rx-token-stream/ky';
import { authInterceptor, type AdapterTokens, type AuthInterceptorOptions as AdapterOptions } from 'rx-token-stream/undici';

const factories: [string, (tokens: AdapterTokens, options: AdapterOptions) => unknown][] = [
  ['authInterceptor', authInterceptor],
  ['axiosAuth', (tokens, options) => axiosAuth(axios.create(), tokens, options)],
  ['kyAuth', kyAuth],
  ['gotAuth', gotAuth],
];

describe('client adapters: arguments', () => {
  const tokens = new TokenStream({ source: async () => ({ value: 'never-used' }) });
  after(() => tokens.close());

  for (const [owner, create] of factories) {
    it(`${owner} refuses bad tokens and options at once, with a TypeError naming each`, () => {
      const refused = (tokens: unknown, options: unknown, pattern: RegExp) =>
        expect(() => create(tokens as AdapterTokens, options as AdapterOptions)).to.throw(TypeError, pattern);
      const origins = ['https://api.example.com'];
      refused(undefined, { origins }, new RegExp(`^${owner}: \`tokens\` must be`));
      refused({ getToken: () => undefined }, { origins }, /`tokens`/);
      refused(tokens, undefined, new RegExp(`^${owner}: option \`options\``));
      refused(tokens, () => origins, /`options` must be an object, not a function/);
      refused(tokens, {}, new RegExp(`^${owner}: option \`origins\``));
      refused(tokens, { origins: ['https://api.example.com/path'] }, /`origins\[0\]` must be a bare origin/);
      refused(tokens, { origins: ['http://10.0.0.1'] }, /`origins\[0\]` is plain http/);
      refused(tokens, { origins, allowInsecureHttp: 'yes' }, /`allowInsecureHttp` must be a boolean/);
      expect(() => create(tokens, { origins: ['http://10.0.0.1'], allowInsecureHttp: true })).not.to.throw();
    });
  }

  it('axiosAuth refuses an instance that is not an axios instance', () => {
    expect(() => axiosAuth({} as never, tokens, { origins: ['https://api.example.com'] })).to.throw(TypeError, /^axiosAuth: `instance` must be/);
  });

  it('reads the tokens once: a tokens object changed afterwards changes nothing', async () => {
    const calls: string[] = [];
    const mutable = { getToken: async () => (calls.push('first'), { value: 'a' }), invalidate: () => undefined };
    const hooks = kyAuth(mutable, { origins: ['https://api.example.com'] });
    mutable.getToken = async () => (calls.push('second'), { value: 'b' });
    const sent: (string | null)[] = [];
    const fetch = async (request: Request): Promise<Response> => (sent.push(request.headers.get('authorization')), new Response('ok'));
    await hooks.beforeRequest[0]!(new Request('https://api.example.com/') as never, { fetch } as never, { retryCount: 0 });
    expect([calls, sent]).to.deep.equal([['first'], ['Bearer a']]);
  });
});
