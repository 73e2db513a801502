import { expect } from 'chai';
import { CREDENTIAL_HEADERS, carriesToken, dropCredentials, isLoopbackHost, isSameOrigin, parseOrigins, requestTargets } from '../../lib/http/origins.js';

const host = (url: string): string => new URL(url).hostname;

describe('origins', () => {
  describe('isLoopbackHost', () => {
    it('accepts localhost, 127.0.0.0/8, ::1 and IPv4-mapped 127/8, in every spelling the URL parser normalises', () => {
      const spellings = [
        'http://localhost', 'http://LOCALHOST:1', 'http://127.0.0.1', 'http://127.255.0.9', 'http://127.1', 'http://0x7f.1',
        'http://0177.0.0.1', 'http://2130706433', 'http://127.0.0.1.', 'http://[::1]', 'http://[0:0:0:0:0:0:0:1]',
        'http://[::ffff:127.0.0.1]', 'http://[::FFFF:7f00:1]', 'http://[0:0:0:0:0:ffff:7f00:0001]', 'http://[::ffff:127.255.255.255]',
      ];
      for (const url of spellings) {
        expect(isLoopbackHost(host(url)), url).to.equal(true);
      }
    });

    it('refuses every other host, including look-alikes', () => {
      const others = [
        'http://128.0.0.1', 'http://10.0.0.1', 'http://localhost.example.com', 'http://127.0.0.1.nip.io', 'http://[::2]',
        'http://[::ffff:10.0.0.1]', 'http://[::ffff:128.0.0.1]', 'http://example.com', 'http://0.0.0.0', 'http://[::]',
        'http://[::127.0.0.1]', 'http://[::ffff:0:127.0.0.1]', 'http://[64:ff9b::127.0.0.1]', 'http://127.0.0.1.localhost',
      ];
      for (const url of others) {
        expect(isLoopbackHost(host(url)), url).to.equal(false);
      }
    });

    it('refuses localhost. and *.localhost: Node sends them to DNS, which may answer with any machine', () => {
      for (const url of ['http://localhost.', 'http://LOCALHOST.:8080', 'http://api.localhost', 'http://api.localhost.']) {
        expect(isLoopbackHost(host(url)), url).to.equal(false);
      }
      expect(() => parseOrigins(['http://localhost.:8080'], false)).to.throw(TypeError, /`origins\[0\]`/);
      expect(() => parseOrigins(['http://api.localhost:8080'], false)).to.throw(TypeError, /`origins\[0\]`/);
    });
  });

  describe('isSameOrigin', () => {
    it('compares scheme, host and port, with default ports made explicit', () => {
      const same = (a: string, b: string): boolean => isSameOrigin(new URL(a), new URL(b));
      expect(same('https://api.example.com/a', 'https://API.example.com:443/b?c')).to.equal(true);
      expect(same('http://127.0.0.1:8080/', 'http://127.0.0.1:8081/')).to.equal(false);
      expect(same('http://127.0.0.1:8080/', 'http://localhost:8080/')).to.equal(false);
      expect(same('https://api.example.com/', 'http://api.example.com/')).to.equal(false);
      expect(same('https://api.example.com/', 'https://api.example.com:8443/')).to.equal(false);
      expect(same('https://api.example.com/', 'https://evil.api.example.com/')).to.equal(false);
    });
  });

  describe('parseOrigins', () => {
    it('normalises entries to their origin', () => {
      const allowed = parseOrigins(['https://API.example.com:443/', new URL('http://127.0.0.1:3000')], false);
      expect([...allowed]).to.deep.equal(['https://api.example.com', 'http://127.0.0.1:3000']);
    });

    it('names the bad entry without echoing it', () => {
      expect(() => parseOrigins(['https://user:hunter2@example.com'], false))
        .to.throw(TypeError, /`origins\[0\]`/)
        .with.property('message')
        .that.does.not.include('hunter2');
    });

    it('refuses plain http to a remote host unless allowed', () => {
      expect(() => parseOrigins(['http://10.0.0.1'], false)).to.throw(TypeError, /`origins\[0\]`/);
      expect([...parseOrigins(['http://10.0.0.1'], true)]).to.deep.equal(['http://10.0.0.1']);
    });
  });

  describe('dropCredentials', () => {
    it('removes authorization, cookie and proxy-authorization, and nothing else', () => {
      const headers = { authorization: 'Bearer x', cookie: 'a=b', 'proxy-authorization': 'Basic y', 'x-trace': '1' };
      dropCredentials(headers);
      expect(headers).to.deep.equal({ 'x-trace': '1' });
      expect(CREDENTIAL_HEADERS).to.deep.equal(['authorization', 'cookie', 'proxy-authorization']);
    });
  });

  describe('carriesToken', () => {
    const allowed = parseOrigins(['https://api.example.com'], false);

    it('holds for an http(s) URL of an allowed origin, and for nothing else', () => {
      expect(carriesToken(allowed, new URL('https://API.example.com:443/x?y'), 'owner')).to.equal(true);
      for (const url of ['https://api.example.com:8443/', 'http://api.example.com/', 'https://api.example.com.evil.test/', 'blob:https://api.example.com/0a1b']) {
        expect(carriesToken(allowed, new URL(url), 'owner'), url).to.equal(false);
      }
    });

    it('refuses an allowed URL that holds credentials, naming its owner and not the password', () => {
      expect(() => carriesToken(allowed, new URL('https://user:hunter2@api.example.com/'), 'kyAuth'))
        .to.throw(TypeError, /^kyAuth: a request URL must not hold credentials$/)
        .with.property('message')
        .that.does.not.include('hunter2');
      expect(carriesToken(allowed, new URL('https://user:hunter2@evil.test/'), 'kyAuth')).to.equal(false);
    });
  });

  describe('requestTargets', () => {
    const allowed = parseOrigins(['https://api.example.com'], false);

    it('parses and checks a URL string once while the same string comes again', () => {
      const targets = requestTargets(allowed, 'owner');
      const first = targets('https://api.example.com/a');
      expect(first).to.include({ origin: 'https://api.example.com', carries: true });
      expect(targets('https://api.example.com/a')).to.equal(first);
      expect(targets('https://evil.test/a')).to.include({ origin: 'https://evil.test', carries: false });
      const again = targets('https://api.example.com/a');
      expect(again).not.to.equal(first);
      expect(again).to.deep.equal(first);
    });

    it('throws for a URL it cannot parse, and for credentials to an allowed origin, every time', () => {
      const targets = requestTargets(allowed, 'owner');
      expect(() => targets('not a url')).to.throw(TypeError).with.property('code', 'ERR_INVALID_URL');
      for (let i = 0; i < 2; i += 1) expect(() => targets('https://u:p@api.example.com/')).to.throw(TypeError, /credentials/);
    });
  });

  it('names the entry that checks the origins in its errors', () => {
    expect(() => parseOrigins([], false, 'gotAuth')).to.throw(TypeError, /^gotAuth: option `origins`/);
  });
});
