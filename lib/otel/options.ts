/**
 * What {@link instrument} accepts, and the one place its options get their defaults and
 * their checks.
 */
import type { Attributes, Meter, Tracer } from '@opentelemetry/api';
import { asyncScheduler, type Observable, type SchedulerLike } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { checkOptionsObject, isScheduler, optionChecker } from '../options.js';
import { metrics, trace } from './api.js';

/** The name the default tracer and meter are registered under. */
export const SCOPE = 'rx-token-stream';

/**
 * What can be instrumented: a `TokenStream`, a `TokenStreams` (whose events carry `key`),
 * or anything else that publishes their events.
 */
export interface Instrumentable {
  readonly events$: Observable<TokenEvent>;
}

/**
 * How a key of a `TokenStreams` shows in spans and in the time-left gauge.
 *
 * - `'hash'`: `token.key.hash`, the first 16 hex digits of the key's SHA-256. It tells keys
 *   apart without naming them; but anyone can hash a guess, so a key that is easy to guess
 *   (a tenant number) is only hidden from those who do not try: choose `'none'` when the
 *   key itself must stay out of telemetry (an e-mail address, a user id).
 * - `'raw'`: `token.key`, the key itself.
 * - `'none'`: nothing; every key's gauge reading then shares one attribute set, and only
 *   the last one observed is kept.
 */
export type KeyAttribute = 'hash' | 'raw' | 'none';

/** How {@link instrument} records. Every field is optional. */
export interface InstrumentOptions {
  /**
   * Where the `token.refresh` spans go.
   * @default trace.getTracer('rx-token-stream'), from the global tracer provider
   */
  tracer?: Tracer;
  /**
   * Where the refresh counter, the duration histogram and the time-left gauge go.
   * @default metrics.getMeter('rx-token-stream'), from the global meter provider
   */
  meter?: Meter;
  /**
   * How the key of a `TokenStreams` is recorded (see {@link KeyAttribute}). A lone
   * `TokenStream` has no key.
   * @default 'hash'
   */
  keyAttribute?: KeyAttribute;
  /**
   * Attributes added to every span and every metric point, to tell instrumented streams
   * apart (`{ 'token.stream': 'orders-api' }`): two lone streams instrumented without them
   * report one time-left gauge reading between them. Never put a secret here.
   * @default {}
   */
  attributes?: Attributes;
  /**
   * The streams' scheduler: the gauge measures the time left on the held token against
   * its clock, the clock that `expiresAt` is on.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

/** {@link InstrumentOptions} with every default filled in. */
export interface InstrumentSetup {
  readonly tracer: Tracer;
  readonly meter: Meter;
  readonly keyAttribute: KeyAttribute;
  readonly attributes: Readonly<Attributes>;
  readonly scheduler: SchedulerLike;
}

const check = optionChecker('instrument');
const KEY_ATTRIBUTES: readonly string[] = ['hash', 'raw', 'none'] satisfies KeyAttribute[];

const hasMethods = (value: unknown, names: readonly string[]): boolean =>
  typeof value === 'object' && value !== null && names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');

// undefined too: OpenTelemetry drops such an attribute, as it does for `{ env: process.env.X }`.
const isAttributeValue = (value: unknown): boolean =>
  ['string', 'number', 'boolean', 'undefined'].includes(typeof value) ||
  (Array.isArray(value) && value.every((item) => item == null || ['string', 'number', 'boolean'].includes(typeof item)));

/**
 * Checks `tokens` and `options`, and fills in the defaults.
 * @throws {TypeError} naming `tokens` or the option that is unusable.
 */
export function resolveInstrumentOptions(tokens: unknown, options: InstrumentOptions): InstrumentSetup {
  if (typeof (tokens as Partial<Instrumentable> | null)?.events$?.subscribe !== 'function') {
    throw new TypeError('instrument: `tokens` must be a TokenStream or a TokenStreams (something with `events$`)');
  }
  checkOptionsObject(check, options, 'tracer?, meter?, keyAttribute?');
  const {
    tracer = trace.getTracer(SCOPE),
    meter = metrics.getMeter(SCOPE),
    keyAttribute = 'hash',
    attributes = {},
    scheduler = asyncScheduler,
  } = options;
  check(hasMethods(tracer, ['startSpan']), 'tracer', 'an OpenTelemetry Tracer');
  check(hasMethods(meter, ['createCounter', 'createHistogram', 'createObservableGauge']), 'meter', 'an OpenTelemetry Meter');
  check(KEY_ATTRIBUTES.includes(keyAttribute), 'keyAttribute', "'hash', 'raw' or 'none'");
  check(
    typeof attributes === 'object' && attributes !== null && !Array.isArray(attributes) && Object.values(attributes).every(isAttributeValue),
    'attributes',
    'an object of strings, numbers, booleans or arrays of them',
  );
  check(isScheduler(scheduler), 'scheduler', 'a SchedulerLike (with now() and schedule())');
  // A copy: an attribute the caller changes later would otherwise change what is recorded.
  return { tracer, meter, keyAttribute, attributes: Object.freeze({ ...attributes }), scheduler };
}
