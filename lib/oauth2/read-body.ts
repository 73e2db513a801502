/** A response body as a fetch hands it over: node-fetch's Node stream, the global fetch's ReadableStream. */
export type BodyLike = AsyncIterable<Uint8Array | string>;

interface ChunkReader {
  next(): Promise<IteratorResult<Uint8Array | string>>;
  /** Stops the body, which closes its connection, even while a read is pending. */
  stop(): void;
}

/**
 * Reads `body` whole, unless it is longer than `maxBytes` or `signal` aborts first: then it
 * stops reading at once and cancels the body, so that a huge or endless response costs
 * neither memory nor an open connection.
 *
 * The signal is watched here as well as by the transport: a fetch wrapper may drop it, and
 * a body that never ends must still end with the attempt.
 *
 * @returns the bytes, or `undefined` when the body is longer than `maxBytes`.
 * @throws the signal's reason when it aborts; the body's own error when it fails.
 */
export async function readBody(body: BodyLike, maxBytes: number, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
  const reader = chunkReader(body);
  // A transport that ignored the signal may answer after it aborted: close that body too.
  if (signal?.aborted === true) {
    reader.stop();
    throw signal.reason;
  }
  const { aborted, unlisten } = whenAborted(signal);
  const chunks: Uint8Array[] = [];
  let length = 0;
  let ended = false;
  try {
    for (;;) {
      const next = await Promise.race([reader.next(), aborted]);
      if (next.done === true) {
        ended = true;
        return Buffer.concat(chunks, length);
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
      if (!(chunk instanceof Uint8Array)) throw new TypeError('The response body yielded something other than bytes');
      length += chunk.byteLength;
      if (length > maxBytes) return undefined;
      chunks.push(chunk);
    }
  } finally {
    unlisten();
    if (!ended) reader.stop();
  }
}

/**
 * Reads a body that a transport only offers whole (`arrayBuffer()`), under `signal`. It
 * cannot be stopped at `maxBytes`, only refused after.
 */
export async function readWhole(read: () => Promise<ArrayBuffer>, maxBytes: number, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
  signal?.throwIfAborted();
  const { aborted, unlisten } = whenAborted(signal);
  try {
    const bytes = new Uint8Array(await Promise.race([read(), aborted]));
    return bytes.byteLength > maxBytes ? undefined : bytes;
  } finally {
    unlisten();
  }
}

/** Cancels a body that will not be read, so that its connection closes now. */
export function discardBody(body: BodyLike | null | undefined): void {
  if (body === null || body === undefined) return;
  try {
    chunkReader(body).stop();
  } catch {
    // A body that is already locked or broken is the transport's to close; the failure
    // being reported matters more than this one.
  }
}

function chunkReader(body: BodyLike): ChunkReader {
  const stream = body as Partial<ReadableStream<Uint8Array> & { destroy(): void }>;
  if (typeof stream.getReader === 'function') {
    // A web stream: the reader's cancel() ends a pending read; the async iterator's
    // return() would wait for it, which for a stalled body is forever.
    const reader = stream.getReader();
    return { next: () => reader.read() as Promise<IteratorResult<Uint8Array>>, stop: () => void reader.cancel().catch(() => {}) };
  }
  const iterator = body[Symbol.asyncIterator]();
  return {
    next: () => iterator.next(),
    stop: () => {
      // A Node stream: destroy() closes the socket at once, a pending read included.
      if (typeof stream.destroy === 'function') stream.destroy();
      else void Promise.resolve(iterator.return?.()).catch(() => {});
    },
  };
}

function whenAborted(signal: AbortSignal | undefined): { aborted: Promise<never>; unlisten: () => void } {
  if (signal === undefined) return { aborted: new Promise<never>(() => {}), unlisten: () => {} };
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return { aborted, unlisten: () => signal.removeEventListener('abort', onAbort) };
}
