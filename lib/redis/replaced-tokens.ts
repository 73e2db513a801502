import { createHash } from 'node:crypto';

/** How many keys the memory holds, the least recently replaced forgotten first. */
export const REPLACED_KEYS = 10_000;
/** How many replaced tokens of one key it holds, the oldest forgotten first. */
const PER_KEY = 4;

/**
 * The tokens this process asked to replace (the `previous` of a call: rejected by a 401,
 * expired, or in the refresh window), by Redis key, so that none is taken from Redis again.
 * Redis can still hold one: when Redis did not answer, every process replaced it on its own
 * (a fallback) and none could store its replacement, so once Redis answers again it hands
 * back the token the fleet had rejected.
 *
 * It holds a fingerprint of each (a truncated SHA-256), not the token (but for the last value
 * it fingerprinted, kept to spare a hash per poll): memory is bounded by
 * {@link REPLACED_KEYS} × 4 short strings, and the old tokens themselves can be collected.
 */
export class ReplacedTokens {
  readonly #byKey = new Map<string, string[]>();
  // The last value fingerprinted: waiters read the same stored token poll after poll.
  #lastValue: string | undefined;
  #lastPrint = '';

  add(key: string, value: string): void {
    const held = this.#byKey.get(key) ?? [];
    const print = this.#fingerprint(value);
    if (!held.includes(print)) held.push(print);
    if (held.length > PER_KEY) held.shift();
    // Re-inserted: a Map iterates in insertion order, so its first key is the least recent.
    this.#byKey.delete(key);
    this.#byKey.set(key, held);
    if (this.#byKey.size > REPLACED_KEYS) this.#byKey.delete(this.#byKey.keys().next().value as string);
  }

  has(key: string, value: string): boolean {
    const held = this.#byKey.get(key);
    return held !== undefined && held.includes(this.#fingerprint(value));
  }

  #fingerprint(value: string): string {
    if (value !== this.#lastValue) {
      this.#lastValue = value;
      this.#lastPrint = createHash('sha256').update(value).digest('base64url').slice(0, 22);
    }
    return this.#lastPrint;
  }
}

