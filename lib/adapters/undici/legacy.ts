/**
 * undici's first handler API, which the interceptor speaks (see ./handler.ts for why), and a
 * bridge to the newer one for a caller's handler that only speaks that: undici's own
 * interceptors' handlers in undici 7 (a redirect interceptor composed above this one).
 */
import type { Dispatcher } from 'undici';

/** Headers as undici's first API hands them: `[name, value, name, value, ...]`. */
export type RawHeaders = (Buffer | string | (Buffer | string)[])[];

/** A handler of undici's first API. */
export interface LegacyHandler {
  onConnect(abort: (reason?: Error) => void, context?: unknown): void;
  onError(error: Error): void;
  onHeaders(statusCode: number, headers: RawHeaders, resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: RawHeaders | null): void;
  onUpgrade?(statusCode: number, headers: RawHeaders | null, socket: unknown): void;
  onResponseStarted?(): void;
  onBodySent?(chunk: unknown, totalBytesSent: unknown): void;
}

/** The value of header `name` (lowercase) in a raw list, repeated ones joined with ", ". */
export function rawHeader(headers: RawHeaders, name: string): string | null {
  let found: string | null = null;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const key = headers[i];
    if (key === undefined || String(key).length !== name.length || String(key).toLowerCase() !== name) continue;
    const value = headers[i + 1];
    const text = Array.isArray(value) ? value.map(latin1).join(', ') : latin1(value);
    found = found === null ? text : `${found}, ${text}`;
  }
  return found;
}

const latin1 = (value: Buffer | string | undefined): string => (typeof value === 'string' ? value : value === undefined ? '' : value.toString('latin1'));

/** A record of raw headers, as the newer API hands them: lowercase names, repeated ones in arrays. */
function headerRecord(headers: RawHeaders | null): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  if (headers === null) return record;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = String(headers[i]).toLowerCase();
    const raw = headers[i + 1];
    const values = Array.isArray(raw) ? raw.map(latin1) : [latin1(raw)];
    const held = Object.hasOwn(record, name) ? record[name] : undefined;
    const value = held === undefined ? (values.length === 1 ? (values[0] as string) : values) : [...(Array.isArray(held) ? held : [held]), ...values];
    Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return record;
}

/**
 * `handler` as a handler of the first API: itself when it speaks it (undici wraps a caller's
 * handler of that API so that it speaks both), else a bridge to its newer API.
 */
export function legacyHandlerOf(handler: Dispatcher.DispatchHandler): LegacyHandler {
  if (typeof (handler as Partial<LegacyHandler>).onHeaders === 'function' && typeof (handler as Partial<LegacyHandler>).onConnect === 'function') {
    return handler as unknown as LegacyHandler;
  }
  return new NewApiBridge(handler);
}

/** Speaks the first API to the interceptor, and the newer one to `handler`. */
class NewApiBridge implements LegacyHandler {
  readonly #handler: Dispatcher.DispatchHandler;
  #abort: ((reason?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;
  /** The controller the newer API hands the caller. */
  readonly #controller: Dispatcher.DispatchController;

  constructor(handler: Dispatcher.DispatchHandler) {
    this.#handler = handler;
    const bridge = this;
    this.#controller = {
      get aborted() {
        return bridge.#aborted;
      },
      get paused() {
        return bridge.#paused;
      },
      get reason() {
        return bridge.#reason;
      },
      abort(reason: Error) {
        if (bridge.#aborted) return;
        bridge.#aborted = true;
        bridge.#reason = reason;
        bridge.#abort?.(reason);
      },
      pause() {
        bridge.#paused = true;
      },
      resume() {
        if (!bridge.#paused) return;
        bridge.#paused = false;
        bridge.#resume?.();
      },
    };
  }

  onConnect(abort: (reason?: Error) => void, context?: unknown): void {
    this.#abort = abort;
    this.#handler.onRequestStart?.(this.#controller, context);
  }

  onUpgrade(statusCode: number, headers: RawHeaders | null, socket: unknown): void {
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headerRecord(headers), socket as never);
  }

  onHeaders(statusCode: number, headers: RawHeaders, resume: () => void, statusText: string): boolean {
    this.#resume = resume;
    this.#handler.onResponseStart?.(this.#controller, statusCode, headerRecord(headers), statusText);
    return !this.#paused;
  }

  onData(chunk: Buffer): boolean {
    this.#handler.onResponseData?.(this.#controller, chunk);
    return !this.#paused;
  }

  onComplete(trailers: RawHeaders | null): void {
    this.#handler.onResponseEnd?.(this.#controller, headerRecord(trailers));
  }

  onError(error: Error): void {
    this.#handler.onResponseError?.(this.#controller, error);
  }
}
