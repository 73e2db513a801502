// IMF-fixdate (RFC 9110 5.6.7), the only HTTP-date form servers still send.
const imfFixdate = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * How long a `Retry-After` header (RFC 9110 10.2.3) asks us to wait, in ms from `now`.
 *
 * @param value The header, or `null` when absent.
 * @param now The current time in epoch ms, on the clock that will run the delay.
 * @returns The delay, or `undefined` for a missing, garbage or past value: the caller then
 * uses its normal backoff. `Retry-After: 0` is honoured as "now".
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    const ms = Number(trimmed) * 1000;
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  const at = parseHttpDate(trimmed);
  const delay = at === undefined ? NaN : at - now;
  return Number.isFinite(delay) && delay > 0 ? delay : undefined;
}

/**
 * An HTTP-date (RFC 9110 5.6.7) in epoch ms, or undefined for anything but an IMF-fixdate:
 * `Date.parse` alone accepts almost anything ("1" is a date in V8), so the form is checked first.
 */
export function parseHttpDate(value: string | null): number | undefined {
  const trimmed = value?.trim() ?? '';
  if (!imfFixdate.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? at : undefined;
}
