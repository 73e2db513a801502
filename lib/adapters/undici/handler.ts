/**
 * One authorized request as undici dispatches it: the handler that sits between the
 * interceptor below it and the caller's handler (undici's `request`, `fetch`, another
 * interceptor) above it. It waits for the token, sends, and on a rejection of that token
 * sends once more with the next one, while the caller sees one request from start to end.
 */
import type { Dispatcher } from 'undici';
import { rejectsToken, type SentToken } from '../../http/token-header.js';
import type { AdapterSetup } from '../options.js';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
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
 * The caller's controller for the whole request, and the handler of each attempt. As undici's
 * own RetryHandler does, it passes pause, resume and abort on to the attempt under way; an
 * abort while no attempt is under way (waiting for a token) ends the request at once.
 */
export class AuthHandler implements Handler, Controller {
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #request: AuthRequest;
  readonly #handler: Handler;
  readonly #setup: AdapterSetup;
  /** The context the caller was given: filled in by the first attempt's (a redirect interceptor's history). */
  readonly #context: Record<string, unknown> = {};
  /** The controller of the attempt under way, if one is. */
  #target: Controller | null = null;
  #sent: SentToken | undefined;
  #retried = false;
  /** The response under way rejects the token and will not reach the caller: a retry follows. */
  #discarding = false;
  /** The caller has had its final callback (end or error): nothing more reaches it. */
  #done = false;
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;

  constructor(dispatch: Dispatcher.Dispatch, request: AuthRequest, handler: Handler, setup: AdapterSetup) {
    this.#dispatch = dispatch;
    this.#request = request;
    this.#handler = handler;
    this.#setup = setup;
  }

  /**
   * Starts the request. The caller gets its controller before the wait for a token, so that
   * its abort (a signal, a closed fetch) reaches the wait too.
   */
  start(): void {
    this.#handler.onRequestStart?.(this, this.#context);
    if (!this.#aborted) void this.#attempt();
  }

  /** Waits for a token and sends. Never rejects: a failure is the caller's error. */
  async #attempt(): Promise<void> {
    this.#target = null;
    let token;
    try {
      token = await this.#setup.getToken();
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    if (this.#done) return;
    try {
      this.#sent = this.#setup.sentFor(token);
      const { opts, setToken } = this.#request;
      setToken(opts.headers ?? null, this.#sent.header);
      this.#dispatch(opts, this);
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  #fail(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#handler.onResponseError?.(this, error);
  }

  // The handler of each attempt.

  onRequestStart(controller: Controller, context: unknown): void {
    if (this.#aborted) {
      controller.abort(this.#reason as Error);
      return;
    }
    this.#target = controller;
    if (this.#paused) controller.pause();
    if (typeof context === 'object' && context !== null) Object.assign(this.#context, context);
  }

  onRequestUpgrade(_controller: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>, socket: never): void {
    this.#done = true;
    this.#handler.onRequestUpgrade?.(this, statusCode, headers, socket);
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (this.#done) return;
    // A 1xx is not the answer yet; below 400, nothing rejects a token.
    if (statusCode >= 400 && !this.#retried && this.#sent !== undefined && this.#stayedOnFirstOrigin() && rejectsToken(responseOf(statusCode, headers), this.#sent.token)) {
      // The copy that was sent: the tokens object may have changed its own since.
      this.#setup.invalidate(this.#sent.token);
      if (this.#request.replayable) {
        this.#discarding = true;
        return;
      }
    }
    this.#handler.onResponseStart?.(this, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (!this.#done && !this.#discarding) this.#handler.onResponseData?.(this, chunk);
  }

  onResponseEnd(_controller: Controller, trailers: Record<string, string | string[] | undefined>): void {
    if (this.#done) return;
    if (this.#discarding) {
      // The rejected response was read to its end, so that its connection can be used again.
      this.#discarding = false;
      this.#retried = true;
      void this.#attempt();
      return;
    }
    this.#done = true;
    this.#handler.onResponseEnd?.(this, trailers);
  }

  onResponseError(_controller: Controller, error: Error): void {
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

  // The caller's controller.

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  get rawHeaders(): NonNullable<Controller['rawHeaders']> | null {
    return this.#target?.rawHeaders ?? null;
  }

  get rawTrailers(): NonNullable<Controller['rawTrailers']> | null {
    return this.#target?.rawTrailers ?? null;
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    if (this.#target !== null) this.#target.abort(reason);
    // Waiting for a token (or for a dispatched attempt to start): the caller is answered now,
    // and what arrives later is dropped.
    else this.#fail(reason);
  }

  pause(): void {
    this.#paused = true;
    this.#target?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#target?.resume();
  }
}

/** What {@link rejectsToken} reads of a response, from undici's header record. */
function responseOf(status: number, headers: Record<string, string | string[] | undefined>) {
  return {
    status,
    headers: {
      get(name: string): string | null {
        const value = headers[name];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
  };
}
