/**
 * How `refreshTokenGrant` makes one rotation per refresh token, whatever the number of
 * callers and processes: read the shared credential, take the lease, read again, present
 * the refresh token once, and save the answer only on the version that was read.
 */
import type { SchedulerLike } from 'rxjs';
import type { CredentialExpectation, CredentialStore, RotatedCredential, StoredCredential } from '../credential-store.js';
import { tokenProblem, type Token, type TokenSourceContext } from '../token.js';
import type { OAuthError } from './oauth-error.js';
import { redactor } from './redact.js';
import type { RefreshAnswer } from './refresh-request.js';
import { leaseEndedError, noCredentialError, reauthRequiredError, refusedBeforeError, storeError } from './rotation-failures.js';

/**
 * How close to its expiry a shared access token is no longer handed out: the stream checks
 * it again a moment later, and the API later still. A tenth of what is left, from 10 ms to
 * 1 s, so that a token of a second or less is still shared rather than rotated per process.
 */
function sharedTokenMarginMs(accessToken: Token, now: number): number {
  const left = (accessToken.expiresAt ?? Infinity) - now;
  return Math.min(1_000, Math.max(10, left / 10));
}

/**
 * The share of the lease within which the refresh token may be presented. The rest is left
 * for the save, so that it lands while the lease is still held.
 */
const PRESENT_SHARE = 0.8;

/** The lease of a call without a deadline, when no `leaseMs` was given. */
const DEFAULT_LEASE_MS = 15_000;

/** What a {@link Rotation} needs. */
export interface RotationSetup {
  store: CredentialStore;
  scheduler: SchedulerLike;
  /** Undefined: from each call's deadline, so that the request may run as long as the stream waits. */
  leaseMs: number | undefined;
  pollMs: number;
  /** A fingerprint of the client settings, kept with a `refused` failure. */
  client: string;
  /** The client secret in each form a request carries it. */
  secrets: readonly string[];
  /** Presents a refresh token once. */
  present(refreshToken: string, signal: AbortSignal): Promise<RefreshAnswer>;
}

const noop = (): void => {};

/** One source call's rotation of the credential `key`. */
export class Rotation {
  readonly #setup: RotationSetup;
  readonly #key: string;
  readonly #context: TokenSourceContext;
  readonly #leaseMs: number;
  /** Every refresh and access token this call has seen: a store's error must quote none. */
  readonly #seen = new Set<string>();

  constructor(setup: RotationSetup, key: string, context: TokenSourceContext) {
    this.#setup = setup;
    this.#key = key;
    this.#context = context;
    // 1 / PRESENT_SHARE of what is left: the request, cut at 80% of the lease, then runs
    // until the stream's own deadline, and the rest of the lease is left for the save.
    const left = context.deadline === undefined ? Infinity : context.deadline - setup.scheduler.now();
    this.#leaseMs = setup.leaseMs ?? (left > 0 && Number.isFinite(left) ? Math.ceil(left / PRESENT_SHARE) : DEFAULT_LEASE_MS);
  }

  /** The access token: one a rotation saved, or one this call's rotation gets. */
  async run(): Promise<Token> {
    const { store, scheduler } = this.#setup;
    const leaseMs = this.#leaseMs;
    // A change notice that led to no progress (a chatty publisher, an attacker flooding the
    // channel) is not followed again before the next timed read: a flood costs at most one
    // extra round per pollMs, never a busy loop.
    let followChanges = true;
    for (;;) {
      this.#context.signal.throwIfAborted();
      const shared = this.#served(await this.#read());
      if (shared !== undefined) return shared;
      const leasedAt = scheduler.now();
      const fence = await this.#step('take the lease', () => store.lease(this.#key, leaseMs));
      if (fence !== undefined) {
        const token = await this.#hold(fence, leasedAt);
        if (token !== undefined) return token;
      } else {
        followChanges = !(await this.#wait(followChanges));
      }
    }
  }

  /**
   * Rotates while holding the lease `fence`. Returns undefined when the lease ended without
   * a token for a reason that another round may mend (a failure someone else marked first).
   */
  async #hold(fence: number, leasedAt: number): Promise<Token | undefined> {
    const { store, scheduler } = this.#setup;
    const leaseMs = this.#leaseMs;
    const presentBy = leasedAt + leaseMs * PRESENT_SHARE;
    let held = true;
    try {
      for (;;) {
        // Read again under the lease: another holder may have saved since the first read.
        const credential = await this.#read();
        const shared = this.#served(credential);
        if (shared !== undefined) return shared;
        const current = credential as StoredCredential;
        if (scheduler.now() >= presentBy) throw leaseEndedError(leaseMs);
        const answer = await this.#present(current.refreshToken, presentBy);
        const expected: CredentialExpectation = { version: current.version, fence };
        if (answer.refreshToken !== undefined || answer.ok) {
          // The IdP rotated: save before anything else, and before any waiter gets the token.
          const accessToken = answer.ok ? { accessToken: answer.token } : {};
          const next = { refreshToken: answer.refreshToken ?? current.refreshToken, ...accessToken };
          this.#seen.add(next.refreshToken);
          if (answer.ok) this.#seen.add(answer.token.value);
          held = false;
          await this.#keep(expected, next);
          if (answer.ok) return answer.token;
          throw answer.error;
        }
        const { error } = answer;
        if (!isRefusal(error)) throw error;
        if (error.error === 'invalid_grant') {
          // A lost race is no failure: another holder, or a new consent, may have replaced
          // the refresh token while it was presented. Present the new one instead.
          if (changed(current, await this.#read())) continue;
          held = false;
          const first = await this.#step('mark the credential', () => store.fail(this.#key, expected, { reason: 'reauth-required' }));
          if (!first) return undefined;
          this.#context.report({ kind: 'reauth-required', detail: 'the refresh token was refused (invalid_grant); store.put a new one' });
          throw reauthRequiredError();
        }
        // invalid_client and the like: the whole fleet stops asking with these settings.
        held = false;
        const failure = { reason: 'refused', error: error.error, client: this.#setup.client } as const;
        await this.#step('mark the credential', () => store.fail(this.#key, expected, failure));
        throw error;
      }
    } finally {
      if (held) void store.release(this.#key, fence).then(noop, noop);
    }
  }

  /**
   * Saves a rotation. A store that fails is asked once more, after a read that tells a save
   * that was made but not acknowledged from one that was not: the rotated refresh token is
   * the family's only copy. Whatever the store does, the caller still gets the access token.
   */
  async #keep(expected: CredentialExpectation, next: RotatedCredential): Promise<void> {
    const { store } = this.#setup;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const saved = await this.#step('save the rotated credential', () => store.save(this.#key, expected, next));
        // A second attempt finds the version moved on, maybe by the first one, which a
        // store (PostgreSQL after a lost connection) can commit without acknowledging it.
        if (!saved && attempt > 1 && (await this.#read().catch(() => undefined))?.refreshToken === next.refreshToken) return;
        if (!saved) {
          this.#context.report({ kind: 'credential-save-lost', detail: 'a newer credential was saved while this rotation ran; its refresh token is dropped' });
        }
        return;
      } catch (error) {
        const stored = await this.#read().catch(() => undefined);
        if (stored?.refreshToken === next.refreshToken) return;
        if (attempt === 2) {
          const { message, cause } = error as Error & { cause?: Error };
          this.#context.report({ kind: 'credential-save-failed', detail: `${message}: ${cause?.message ?? ''}` });
          return;
        }
      }
    }
  }

  /**
   * The access token to hand out without a request: the shared one, unless it is about to
   * expire or is the one the caller is replacing. Throws when the credential cannot be used.
   */
  #served(credential: StoredCredential | undefined): Token | undefined {
    if (credential === undefined) throw noCredentialError();
    const { accessToken, failure } = credential;
    if (failure?.reason === 'reauth-required') throw reauthRequiredError();
    const now = this.#setup.scheduler.now();
    if (
      accessToken !== undefined &&
      tokenProblem(accessToken, now + sharedTokenMarginMs(accessToken, now)) === undefined &&
      accessToken.value !== this.#context.previous?.value
    ) {
      return accessToken;
    }
    if (failure?.reason === 'refused' && failure.client === this.#setup.client) throw refusedBeforeError(failure.error);
    return undefined;
  }

  async #read(): Promise<StoredCredential | undefined> {
    const credential = await this.#step('read the credential', () => this.#setup.store.get(this.#key));
    if (credential !== undefined) this.#seen.add(credential.refreshToken);
    if (credential?.accessToken !== undefined) this.#seen.add(credential.accessToken.value);
    return credential;
  }

  /** Presents the refresh token, abandoning the request at `presentBy`. */
  async #present(refreshToken: string, presentBy: number): Promise<RefreshAnswer> {
    const { scheduler } = this.#setup;
    const leaseMs = this.#leaseMs;
    const { signal } = this.#context;
    const controller = new AbortController();
    const abort = (): void => controller.abort(signal.reason);
    // The call may have been abandoned while the store was read: then nothing is presented.
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    const timer = scheduler.schedule(() => controller.abort(leaseEndedError(leaseMs)), Math.max(0, presentBy - scheduler.now()));
    try {
      return await this.#setup.present(refreshToken, controller.signal);
    } finally {
      timer.unsubscribe();
      signal.removeEventListener('abort', abort);
    }
  }

  /**
   * Waits for the holder: `pollMs`, or less when `followChanges` and the store says something
   * changed. Resolves with whether it ended before its time.
   */
  async #wait(followChanges: boolean): Promise<boolean> {
    const { store, scheduler, pollMs } = this.#setup;
    const { signal, deadline } = this.#context;
    // Up to the stream's deadline, when it comes first: the stream aborts the call then.
    const left = deadline === undefined ? pollMs : deadline - scheduler.now();
    const ms = left > 0 ? Math.min(pollMs, left) : pollMs;
    const startedAt = scheduler.now();
    if (followChanges && store.changed !== undefined) {
      const changes = store.changed.bind(store);
      await this.#step('wait for a change', () => changes(this.#key, ms, signal));
    } else {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          timer.unsubscribe();
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = scheduler.schedule(done, ms);
        signal.addEventListener('abort', done, { once: true });
      });
    }
    return scheduler.now() - startedAt < ms;
  }

  /** Runs one store step; its failure becomes a retryable error that quotes no secret. */
  async #step<T>(step: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw storeError(step, error, redactor([...this.#setup.secrets, ...this.#seen]));
    }
  }
}

/** An RFC 6749 5.2 answer that asking again cannot change. */
function isRefusal(error: OAuthError): error is OAuthError & { error: string } {
  return error.kind === 'error-response' && !error.retryable && error.error !== undefined;
}

/** Whether the credential read now is not the one that was presented. */
function changed(presented: StoredCredential, now: StoredCredential | undefined): boolean {
  // A `refused` mark left by other client settings is no change: the refresh token is the
  // same, and presenting it again would only be refused again, as often as the lease allows.
  return (
    now === undefined ||
    now.version !== presented.version ||
    now.refreshToken !== presented.refreshToken ||
    now.failure?.reason === 'reauth-required'
  );
}
