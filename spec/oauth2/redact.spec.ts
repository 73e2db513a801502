import { expect } from 'chai';
import fc from 'fast-check';
import { basicCredentials, redactor } from '../../lib/oauth2/redact.js';

// Every way a request or an echo of it may spell `secret`, computed here independently.
// (Secrets here are well-formed UTF-16: encodeURIComponent throws on a lone surrogate.)
function spellings(secret: string): string[] {
  const form = new URLSearchParams({ s: secret }).toString().slice(2);
  const rfc6749 = encodeURIComponent(secret)
    .replace(/[-_.!~*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
  const encoded = [secret, encodeURIComponent(secret), form, rfc6749];
  return [
    ...encoded,
    // A server that re-encodes may write its escapes in lower case.
    rfc6749.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
    // As a log-safe text keeps it: controls turned into spaces.
    secret.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, ' '),
    ...encoded.flatMap((text) => [Buffer.from(text).toString('base64'), Buffer.from(text).toString('base64url')]),
  ];
}

describe('redactor: known secrets out of what an error keeps', () => {
  const secret = 'sEcReT-9f3a/+:= (x)';
  const redact = redactor([secret, ...basicCredentials('svc reports', secret)]);

  it('replaces the secret as it is, percent-encoded in either case, and as a Basic credential', () => {
    const basic = Buffer.from(basicCredentials('svc reports', secret)[0] ?? '').toString('base64');
    expect(redact.text(`a ${secret} b`, 100)).to.equal('a [redacted] b');
    const lowerEscapes = encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
    expect(redact.text(`client_secret=${lowerEscapes}&x=1`, 100)).to.equal('client_secret=[redacted]&x=1');
    expect(redact.text(`Authorization: Basic ${basic}`, 100)).to.equal('Authorization: Basic [redacted]');
  });

  it('finds the secret inside any longer base64 string, at each byte alignment', () => {
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      for (const alphabet of ['base64', 'base64url'] as const) {
        const encoded = Buffer.from(`${prefix}${secret}!`).toString(alphabet);
        const kept = redact.text(encoded, 1_000);
        expect(kept, `${prefix} ${alphabet}`).to.include('[redacted]');
        // At most the characters shared with the neighbours' bits are left.
        expect(kept.length - '[redacted]'.length, `${prefix} ${alphabet}`).to.be.below(Math.ceil(prefix.length * 1.34) + 6);
      }
    }
  });

  it('replaces control and bidi characters, so that a kept string stays one honest log line', () => {
    expect(redact.text('line\r\nforged: ok\u202e\u0007', 100)).to.equal('line  forged: ok  ');
  });

  it('cuts to the length given, with an ellipsis, never inside a surrogate pair or after the redaction', () => {
    expect(redact.text('x'.repeat(20), 10)).to.equal(`${'x'.repeat(9)}…`);
    expect(redact.text(`${'x'.repeat(8)}😀😀`, 10)).to.equal(`${'x'.repeat(8)}…`);
    // A secret that straddles the cut is redacted before the cut, so no part of it is left.
    expect(redact.text(`${'x'.repeat(8)}${secret}`, 12)).to.equal(`${'x'.repeat(8)}[re…`);
  });

  it('never leaves a secret in its text, whatever it is and however the text spells it (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }), fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 4 }), fc.nat(), (key, fillers, pick) => {
        const forms = spellings(key);
        const text = fillers.join(forms[pick % forms.length] ?? key) + (forms[pick % forms.length] ?? key);
        const kept = redactor([key]).text(text, Infinity);
        return forms.every((form) => !kept.includes(form));
      }),
      { numRuns: 500 },
    );
  });

  it('ends on a secret that overlaps its own mark, with the secret gone', () => {
    const tricky = redactor(['Q[re']);
    expect(tricky.text('QQ[re and Q[redacted]', 100)).not.to.include('Q[re');
  });

  describe('error(): a foreign error reduced to a plain copy', () => {
    it('keeps name, code and a redacted message; drops every other field, the cause and the stack frames', () => {
      const original = Object.assign(new TypeError(`failed sending ${secret}`), { code: 'ECONNRESET', body: secret, cause: new Error(secret) });
      const copy = redact.error(original);
      expect(copy).to.be.instanceOf(Error).and.not.equal(original);
      expect([copy.name, (copy as { code?: string }).code, copy.message]).to.deep.equal(['TypeError', 'ECONNRESET', 'failed sending [redacted]']);
      expect(Object.keys(copy).sort()).to.deep.equal(['code', 'name']);
      expect(copy.cause).to.equal(undefined);
      expect(copy.stack).to.equal('TypeError: failed sending [redacted]');
    });

    it("takes the code from a nested cause when the error has none (undici's fetch failed around ECONNREFUSED)", () => {
      const copy = redact.error(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }));
      expect(copy).to.include({ name: 'TypeError', message: 'fetch failed', code: 'ECONNREFUSED' });
    });

    it('drops a name or code that is no identifier or that holds a secret, and survives hostile objects', () => {
      const odd = redact.error(Object.assign(new Error('m'), { name: 'Bad Name\n', code: secret }));
      expect(odd.name).to.equal('Error');
      expect(odd).not.to.have.property('code');
      const throwing = new Proxy(
        {},
        {
          get() {
            throw new Error(secret);
          },
        },
      );
      expect(redact.error(throwing).message).to.equal('A non-error value was thrown');
      expect(redact.error(`thrown ${secret}`).message).to.equal('thrown [redacted]');
      expect(redact.error(undefined).message).to.equal('A non-error value was thrown');
    });

    it('cuts a long message', () => {
      expect(redact.error(new Error('y'.repeat(10_000))).message).to.have.length(512);
    });
  });
});
