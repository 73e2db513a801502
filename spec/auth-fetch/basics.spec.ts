import { expect } from 'chai';
import sinon from 'sinon';
import { TokenStream, authFetch, type Token } from 'rx-token-stream';
import { recording, reply, type RecordingServer } from './support.js';

describe('authFetch basics', () => {
  let api: RecordingServer;
  let other: RecordingServer;

  before(async () => {
    api = await recording((req, res) => reply(res, req.headers.authorization === 'Bearer t2' || req.url !== '/rotating' ? 200 : 401));
    other = await recording((_req, res) => reply(res, 200));
  });
  after(async () => {
    await api.close();
    await other.close();
  });
  beforeEach(() => {
    api.received.length = 0;
    other.received.length = 0;
  });

  function stream(): { tokens: TokenStream; source: sinon.SinonStub } {
    let n = 0;
    const source = sinon.stub().callsFake(async (): Promise<Token> => ({ value: `t${++n}` }));
    return { tokens: new TokenStream({ source }), source };
  }

  it('sends Authorization with the token type and value', async () => {
    const { tokens } = stream();
    const fetch = authFetch(tokens, { origins: [api.origin] });
    const res = await fetch(`${api.origin}/data`);
    expect(res.status).to.equal(200);
    expect(api.received.map((r) => r.headers.authorization)).to.deep.equal(['Bearer t1']);
    tokens.close();
  });
});
