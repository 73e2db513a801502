import { Readable } from 'node:stream';
import { expect } from 'chai';
import { isRedirectStatus, nextHop, staysOnFirstOrigin } from '../../lib/http/redirects.js';
import type { Hop } from '../../lib/http/request.js';

// The last argument of nextHop says whether the body can be sent again.

function hop(url: string, method = 'GET', body: unknown = undefined): Hop {
  const headers = ({ authorization: 'Bearer t', cookie: 'a=b', 'content-type': 'text/plain', 'x-trace': '1' });
  return { url: new URL(url), method, headers, body, onFirstOrigin: true };
}

const names = (next: Hop): string[] => Object.keys(next.headers).sort();

describe('redirects', () => {
  it('follows 301, 302, 303, 307 and 308 only', () => {
    expect([300, 301, 302, 303, 304, 305, 307, 308, 200, 401].filter(isRedirectStatus)).to.deep.equal([301, 302, 303, 307, 308]);
  });

  it('keeps the credentials and the body on a same-origin 307', () => {
    const next = nextHop(hop('https://api.example.com/a', 'PUT', 'x'), 307, '/b', true);
    expect(next).to.include({ method: 'PUT', body: 'x', onFirstOrigin: true });
    expect(next.url.href).to.equal('https://api.example.com/b');
    expect(names(next)).to.deep.equal(['authorization', 'content-type', 'cookie', 'x-trace']);
  });

  it('drops the credentials on a downgrade from https to http on the same host and port', () => {
    const next = nextHop(hop('https://api.example.com:8443/a'), 302, 'http://api.example.com:8443/b', true);
    expect(next.onFirstOrigin).to.equal(false);
    expect(names(next)).to.deep.equal(['content-type', 'x-trace']);
  });

  it('drops the credentials for another port or another host', () => {
    for (const location of ['https://api.example.com:444/', 'https://other.example.com/', '//API.example.com.evil.test/']) {
      expect(names(nextHop(hop('https://api.example.com/'), 302, location, true)), location).to.deep.equal(['content-type', 'x-trace']);
    }
  });

  it('stays foreign once the chain has left its first origin', () => {
    const away = nextHop(hop('https://api.example.com/'), 302, 'https://other.example.com/', true);
    away.headers.authorization = 'Bearer t';
    const back = nextHop(away, 302, 'https://api.example.com/', true);
    expect(back.onFirstOrigin).to.equal(false);
    expect(names(back)).to.deep.equal(['content-type', 'x-trace']);
  });

  it('turns 303 (not HEAD) and POST on 301/302 into a GET without body or body headers', () => {
    for (const [status, method] of [[303, 'PUT'], [303, 'POST'], [301, 'POST'], [302, 'POST']] as const) {
      const next = nextHop(hop('https://a.example/', method, 'x'), status, '/b', true);
      expect([next.method, next.body, 'content-type' in next.headers], `${status} ${method}`).to.deep.equal(['GET', undefined, false]);
    }
    expect(nextHop(hop('https://a.example/', 'HEAD'), 303, '/b', true).method).to.equal('HEAD');
    expect(nextHop(hop('https://a.example/', 'PUT', 'x'), 301, '/b', true)).to.include({ method: 'PUT', body: 'x' });
  });

  it('copies a header named __proto__ as a header, without touching any prototype', () => {
    const current = { ...hop('https://a.example/'), headers: JSON.parse('{"__proto__": "x", "constructor": "y"}') as Record<string, string> };
    const next = nextHop(current, 302, '/b', true);
    expect(Object.getPrototypeOf(next.headers)).to.equal(Object.prototype);
    expect(Object.entries(next.headers)).to.deep.equal([['__proto__', 'x'], ['constructor', 'y']]);
  });

  it('refuses to resend a streamed body, a non-http(s) Location, an invalid one and one with credentials', () => {
    expect(() => nextHop(hop('https://a.example/', 'POST', Readable.from(['x'])), 308, '/b', false)).to.throw(TypeError, /streamed body/);
    expect(() => nextHop(hop('https://a.example/'), 302, 'data:text/plain,x', true)).to.throw(TypeError, /http\(s\)/);
    expect(() => nextHop(hop('https://a.example/'), 302, 'http://[::1', true)).to.throw(TypeError, /not a valid URL/);
    for (const location of ['https://user:hunter2@a.example/', '//:hunter2@a.example/', 'https://hunter2@evil.test/']) {
      expect(() => nextHop(hop('https://a.example/'), 302, location, true), location)
        .to.throw(TypeError, /credentials/)
        .with.property('message')
        .that.does.not.include('hunter2');
    }
  });

  it('keeps a chain on its first origin only while every hop stays there', () => {
    const a = new URL('https://a.example/x');
    expect(staysOnFirstOrigin(true, a, new URL('https://a.example:443/y'))).to.equal(true);
    expect(staysOnFirstOrigin(true, a, new URL('http://a.example/y'))).to.equal(false);
    expect(staysOnFirstOrigin(false, a, new URL('https://a.example/y')), 'once left, never back').to.equal(false);
  });
});
