/**
 * The one options checker: every entry (TokenStream, authFetch, authorized, the OAuth2
 * sources, redisShared) checks its options with {@link optionChecker} and the predicates
 * below, so that a bad option always gets the same kind of TypeError naming it.
 */
import type { SchedulerLike } from 'rxjs';

/**
 * The longest delay a Node.js timer takes: a longer one fires after 1 ms instead, which
 * would turn a generous timeout into an immediate one.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Throws a TypeError naming option `name` of `owner` unless `ok`. */
export type Check = (ok: boolean, name: string, rule: string) => void;

/**
 * The check of one entry's options: `check(ok, 'timeoutMs', 'a number > 0')` throws
 * `TypeError: <owner>: option \`timeoutMs\` must be a number > 0` when `ok` is false. The
 * message names the option and the rule, never the value (it may be a secret).
 */
export function optionChecker(owner: string): Check {
  return (ok, name, rule) => {
    if (!ok) throw new TypeError(`${owner}: option \`${name}\` must be ${rule}`);
  };
}

/**
 * The check of one function's other arguments: `TypeError: <owner>: \`<name>\` must be <rule>`.
 */
export function argumentChecker(owner: string): Check {
  return (ok, name, rule) => {
    if (!ok) throw new TypeError(`${owner}: \`${name}\` must be ${rule}`);
  };
}

/** Checks that `options` is a plain options object, with a hint for a bare function. */
export function checkOptionsObject(check: Check, options: unknown, required: string): void {
  if (typeof options === 'function') {
    check(false, 'options', `an object, not a function: pass \`{ ${required} }\``);
  }
  check(typeof options === 'object' && options !== null, 'options', `an object with \`${required}\``);
}

export const isNonNegative = (value: unknown): value is number =>
  typeof value === 'number' && value >= 0 && !Number.isNaN(value);

export const isPositiveFinite = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0;

/** A delay a timer can wait: 0 to {@link MAX_TIMER_MS}. */
export const isTimerDelay = (value: unknown): value is number => isNonNegative(value) && value <= MAX_TIMER_MS;

export const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

// A UTF-16 surrogate without its pair: Redis, PostgreSQL and every UTF-8 encoder turn it
// into U+FFFD, so two different keys holding one would name one stored credential.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A key that names one thing wherever it is stored: a non-empty string without NUL or a
 * lone surrogate. TokenStreams and every store check keys with it, so that two keys of
 * different tenants can never become one key in Redis or PostgreSQL.
 */
export const isKey = (value: unknown): value is string =>
  isNonEmptyString(value) && !value.includes('\0') && !LONE_SURROGATE.test(value);

export const isScheduler = (value: unknown): value is SchedulerLike =>
  typeof (value as SchedulerLike | undefined)?.now === 'function' &&
  typeof (value as SchedulerLike).schedule === 'function';
