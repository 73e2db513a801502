/**
 * Keeps known secrets out of what an OAuth error holds. A token endpoint may echo what it
 * received (a debug page, a description built from the request), and a transport's error
 * may carry the request it failed to send; neither can be trusted to leave secrets out.
 */

/** Removes known secrets from strings and foreign errors before an error keeps them. */
export interface Redactor {
  /**
   * `text` without control characters (a log line stays one line) and with every known form
   * of every secret replaced by `[redacted]`, cut to `maxLength` characters.
   */
  text(text: string, maxLength: number): string;
  /**
   * A new plain Error with the `name`, `code` and redacted `message` of `error`: never the
   * object itself, its other fields or its causes, which may hold the request.
   */
  error(error: unknown): Error;
}

const MARK = '[redacted]';
// C0 and C1 controls, and the bidi controls that make a log line read other than it is.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const MAX_MESSAGE_LENGTH = 512;
// Error names are identifiers (TypeError, AbortError, FetchError); anything else is not kept.
const NAME = /^[A-Za-z_$][\w$]{0,63}$/;
// Codes such as ECONNREFUSED, ERR_STREAM_PREMATURE_CLOSE, UND_ERR_SOCKET.
const CODE = /^[A-Za-z0-9_.-]{1,64}$/;
// A transport's error may wrap the one that names the cause (undici: "fetch failed" around
// ECONNREFUSED). How deep to look for a code; nothing found there is kept but the code.
const CODE_DEPTH = 4;

/**
 * A {@link Redactor} for `secrets`: a client secret, a refresh token, a Basic credential's
 * `id:secret`. Each is looked for as sent, percent-encoded (both `encodeURIComponent` and the
 * form encoding of a request body and of RFC 6749 2.3.1's Basic credentials), and in base64
 * and base64url at any alignment, so that it is found inside a longer base64 string too.
 */
export function redactor(secrets: readonly string[]): Redactor {
  const pattern = formsPattern(secrets.filter((secret) => secret.length > 0));
  const redact = (text: string): string => {
    if (pattern === undefined) return text;
    let out = text.replace(pattern, MARK);
    // Only a secret that overlaps the mark itself can survive one pass; removing strictly
    // shortens the text, so this ends.
    while (out.search(pattern) !== -1) out = out.replace(pattern, '');
    return out;
  };
  const text = (value: string, maxLength: number): string => cut(redact(value.replace(CONTROLS, ' ')), maxLength);
  return {
    text,
    error(error) {
      const name = read(error, 'name');
      const message = typeof error === 'string' ? error : read(error, 'message');
      const code = codeOf(error, redact);
      const copy = new Error(typeof message === 'string' ? text(message, MAX_MESSAGE_LENGTH) : 'A non-error value was thrown');
      if (typeof name === 'string' && NAME.test(name) && redact(name) === name) copy.name = name;
      if (code !== undefined) Object.assign(copy, { code });
      // The frames would point here, not where the transport failed; the original's own
      // stack starts with its unredacted message.
      copy.stack = `${copy.name}: ${copy.message}`;
      return copy;
    },
  };
}

/** The first code on `error` or its causes that is an identifier and holds no secret. */
function codeOf(error: unknown, redact: (text: string) => string): string | undefined {
  let current = error;
  for (let depth = 0; depth < CODE_DEPTH && typeof current === 'object' && current !== null; depth += 1) {
    const code = read(current, 'code');
    if (typeof code === 'string' && CODE.test(code) && redact(code) === code) return code;
    current = read(current, 'cause');
  }
  return undefined;
}

// A foreign error may be a Proxy or have throwing getters: reading it must not fail the read.
function read(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function cut(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  // Never end on half a surrogate pair.
  const end = /[\ud800-\udbff]/.test(text.charAt(maxLength - 2)) ? maxLength - 2 : maxLength - 1;
  return `${text.slice(0, end)}…`;
}

/** One regular expression for every form of every secret, longest first. */
function formsPattern(secrets: readonly string[]): RegExp | undefined {
  const forms = new Set<string>();
  for (const secret of secrets) {
    for (const encoded of encodings(secret)) {
      // As a kept text spells it too: controls are replaced before redaction.
      forms.add(encoded).add(encoded.replace(CONTROLS, ' '));
      for (const inBase64 of base64Forms(encoded)) forms.add(inBase64);
    }
  }
  forms.delete('');
  if (forms.size === 0) return undefined;
  const sources = [...forms].sort((a, b) => b.length - a.length).map(literal);
  return new RegExp(sources.join('|'), 'g');
}

/**
 * The `id:secret` strings whose base64 is an HTTP Basic credential: form-encoded first, as
 * RFC 6749 2.3.1 says (and oauth4webapi does), and as a transport that skips that sends it.
 */
export function basicCredentials(clientId: string, clientSecret: string): string[] {
  return [`${formEncode(clientId)}:${formEncode(clientSecret)}`, `${clientId}:${clientSecret}`];
}

/** A secret as it is sent: as it is, and in each percent-encoding a request may use. */
function encodings(secret: string): string[] {
  // encodeURIComponent throws on a lone surrogate; such a secret cannot be sent encoded either.
  const wellFormed = !/[\ud800-\udfff]/.test(secret.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
  return [
    secret,
    // application/x-www-form-urlencoded, as URLSearchParams writes a request body.
    new URLSearchParams([['', secret]]).toString().slice(1),
    ...(wellFormed ? [encodeURIComponent(secret), formEncode(secret)] : []),
  ];
}

// RFC 6749 2.3.1's encoding, which also escapes - _ . ! ~ * ' ( ).
function formEncode(text: string): string {
  return encodeURIComponent(text)
    .replace(/[-_.!~*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/**
 * `text`'s base64 and base64url: the whole encoding, and at each of the three byte
 * alignments the characters that only `text`'s bytes decide (the part that shows inside
 * any longer base64 string that contains `text`, such as a Basic credential).
 */
function base64Forms(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const forms = [bytes.toString('base64'), bytes.toString('base64url')];
  for (let offset = 0; offset < 3; offset += 1) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const first = Math.ceil((offset * 8) / 6);
    const end = Math.floor((padded.length * 8) / 6);
    forms.push(padded.toString('base64').slice(first, end), padded.toString('base64url').slice(first, end));
  }
  return forms;
}

// Percent escapes match in either case (%2f is %2F); everything else matches as written.
function literal(form: string): string {
  return form
    .replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    .replace(/%([0-9A-F])([0-9A-F])/g, (_, high: string, low: string) => `%${either(high)}${either(low)}`);
}

const either = (digit: string): string => (/[A-F]/.test(digit) ? `[${digit}${digit.toLowerCase()}]` : digit);
