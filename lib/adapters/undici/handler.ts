/**
 * One authorized request as undici dispatches it: the handler between the dispatcher below
 * the interceptor and the caller's handler (undici's `request`, `fetch`) above it. It waits
 * for the token, sends, and on a rejection of that token sends once more with the next one,
 * while the caller sees one request from start to end.
 *
 * It speaks undici's first handler API (`onConnect`, `onHeaders`, `onData`, `onComplete`,
 * `onError`), which undici 7 still takes as it is, both ways. A handler of the newer API
 * (`onRequestStart`, `onResponseStart`, ...) makes undici convert every response's headers
 * between the two APIs twice, parsing them and copying each into a Buffer: in a loopback
 * benchmark that cost a tenth of undici's client CPU per request, more than all the rest of
 * this adapter. Node 20's own fetch only speaks the first API.
 */
import type { Dispatcher } from 'undici';
import { rejectsToken, type SentToken } from '../../http/token-header.js';
import type { Token } from '../../token.js';
import type { AdapterSetup } from '../options.js';
import { rawHeader, type LegacyHandler, type RawHeaders } from './legacy.js';

type Headers = NonNullable<Dispatcher.DispatchOptions['headers']> | null;

/** What the interceptor hands a request to: its options, and the rules. */
export interface AuthRequest {
  /**
   * The caller's options, copied when the request was made: this request's own, dispatched
   * as they are on each attempt (undici reads them when it takes them).
   */
  readonly opts: Dispatcher.DispatchOptions;
  /** The origin the request starts at, as `URL.origin` spells it. */
  readonly origin: string;
  /** Whether a rejected token may be followed by a second attempt: a body that can be sent again, and no upgrade. */
  readonly replayable: boolean;
  /** Puts an Authorization value in `opts.headers`, in the place made for it. */
  readonly setToken: (headers: Headers, authorization: string) => void;
}

/**
 * The handler of each attempt, and the caller's one request. An abort by the caller reaches
 * the attempt under way; while none is (waiting for a token), it ends the request at once.
 */
export class AuthHandler implements LegacyHandler {
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #request: AuthRequest;
  readonly #handler: LegacyHandler;
  readonly #setup: AdapterSetup;
  /** The context the caller was given: filled in by each attempt's (a redirect interceptor's history). */
  readonly #context: Record<string, unknown> = {};
  /** Aborts the attempt under way, if one is. */
  #abortAttempt: ((reason: Error) => void) | null = null;
  #sent: SentToken | undefined;
  #retried = false;
  /** The response under way rejects the token and will not reach the caller: a retry follows. */
  #discarding = false;
  /** The caller has had its final callback (end or error): nothing more reaches it. */
  #done = false;
  #reason: Error | null = null;

  constructor(dispatch: Dispatcher.Dispatch, request: AuthRequest, handler: LegacyHandler, setup: AdapterSetup) {
    this.#dispatch = dispatch;
    this.#request = request;
    this.#handler = handler;
    this.#setup = setup;
  }

  /**
   * Starts the request. The caller gets its abort before the wait for a token, so that its
   * abort (a signal, a closed fetch) reaches the wait too.
   */
  start(): void {
    // Bound rather than an arrow function: no closure to name, one call per request.
    this.#handler.onConnect(abortRequest.bind(undefined, this), this.#context);
    if (this.#reason === null) this.#attempt();
  }

  /** The caller's abort. */
  abort(reason?: Error): void {
    if (this.#reason !== null) return;
    this.#reason = reason ?? new Error('aborted');
    if (this.#abortAttempt !== null) this.#abortAttempt(this.#reason);
    // Waiting for a token, or for a dispatched attempt to start: the caller is answered now,
    // and what arrives later is dropped.
    else this.#fail(this.#reason);
  }

  /** Sends with the token held, or once one is had. */
  #attempt(): void {
    this.#abortAttempt = null;
    // A fresh token is sent in this turn, as a fixed header is: no promise to wait on.
    const fresh = this.#setup.freshToken();
    if (fresh !== undefined) this.#send(fresh);
    else void this.#wait();
  }

  /** Waits for a token and sends. Never rejects: a failure is the caller's error. */
  async #wait(): Promise<void> {
    let token: Token;
    try {
      token = await this.#setup.getToken();
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    if (!this.#done) this.#send(token);
  }

  #send(token: Token): void {
    try {
      this.#sent = this.#setup.sentFor(token);
      const { opts, setToken } = this.#request;
      setToken(opts.headers ?? null, this.#sent.header);
      this.#dispatch(opts, this as unknown as Dispatcher.DispatchHandler);
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  #fail(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#handler.onError(error);
  }

  onConnect(abort: (reason?: Error) => void, context?: unknown): void {
    if (this.#reason !== null) {
      abort(this.#reason);
      return;
    }
    this.#abortAttempt = abort;
    if (typeof context === 'object' && context !== null) Object.assign(this.#context, context);
  }

  onResponseStarted(): void {
    if (!this.#done) this.#handler.onResponseStarted?.();
  }

  onUpgrade(statusCode: number, headers: RawHeaders | null, socket: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#handler.onUpgrade?.(statusCode, headers, socket);
  }

  onHeaders(statusCode: number, headers: RawHeaders, resume: () => void, statusText: string): boolean {
    if (this.#done) return true;
    // A 1xx is not the answer yet; below 400, nothing rejects a token.
    if (statusCode >= 400 && !this.#retried && this.#sent !== undefined && this.#stayedOnFirstOrigin() && rejectsToken(responseOf(statusCode, headers), this.#sent.token)) {
      // The copy that was sent: the tokens object may have changed its own since.
      this.#setup.invalidate(this.#sent.token);
      if (this.#request.replayable) {
        this.#discarding = true;
        return true;
      }
    }
    return this.#handler.onHeaders(statusCode, headers, resume, statusText);
  }

  onData(chunk: Buffer): boolean {
    if (this.#done || this.#discarding) return true;
    return this.#handler.onData(chunk);
  }

  onBodySent(chunk: unknown, totalBytesSent: unknown): void {
    if (!this.#done) this.#handler.onBodySent?.(chunk, totalBytesSent);
  }

  onComplete(trailers: RawHeaders | null): void {
    if (this.#done) return;
    if (this.#discarding) {
      // The rejected response was read to its end, so that its connection can be used again.
      this.#discarding = false;
      this.#retried = true;
      this.#attempt();
      return;
    }
    this.#done = true;
    this.#handler.onComplete(trailers);
  }

  onError(error: Error): void {
    this.#fail(error);
  }

  /**
   * Whether the response came from the origin the request started at, over every hop a
   * redirect interceptor below followed (it lists them in the context's `history`). A
   * response from elsewhere was sent no token, and rejects none.
   */
  #stayedOnFirstOrigin(): boolean {
    const history = this.#context['history'];
    if (!Array.isArray(history)) return true;
    return history.every((url: unknown) => url instanceof URL && url.origin === this.#request.origin);
  }
}

function abortRequest(handler: AuthHandler, reason?: Error): void {
  handler.abort(reason);
}

/** What {@link rejectsToken} reads of a response, from undici's raw header list. */
function responseOf(status: number, headers: RawHeaders) {
  return { status, headers: { get: (name: string): string | null => rawHeader(headers, name) } };
}
