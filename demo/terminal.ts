/** A stream the demo writes to: stdout, stderr, or anything with `write`. */
export interface OutputStream {
  write(text: string): unknown;
  /** True for a terminal; absent or false for a pipe or a file. */
  isTTY?: boolean;
}

/** How a {@link Terminal} shows progress. */
export interface TerminalOptions {
  /**
   * How long a task runs before its progress is shown, ms: short ones stay quiet.
   * @default 1_000
   */
  delayMs?: number;
  /**
   * How often progress is redrawn on a terminal, ms. A pipe gets one line per `delayMs`.
   * @default 100
   */
  redrawMs?: number;
}

/** Counts one task's steps while it runs. */
export interface Progress {
  tick(): void;
  /** Ends it: clears the bar, or prints the last count if any was shown. */
  done(): void;
}

/** Lines and progress, readable in a terminal and in a pipe alike. */
export interface Terminal {
  /** Prints a line, above the progress bar if one is drawn. */
  log(line: string): void;
  /** Starts counting a task of `total` steps; it shows only once it runs longer than `delayMs`. */
  progress(label: string, total: number): Progress;
}

const CLEAR_LINE = '\r\x1b[K';

/**
 * Writes to `stream`. On a terminal, progress is a bar redrawn in place; on a pipe it is
 * a plain line now and then, with no control characters, so logs and CI output stay clean.
 */
export function createTerminal(stream: OutputStream, options: TerminalOptions = {}): Terminal {
  const { delayMs = 1_000, redrawMs = 100 } = options;
  const tty = stream.isTTY === true;
  let bar = '';

  const log = (line: string): void => {
    stream.write(tty && bar !== '' ? `${CLEAR_LINE}${line}\n${bar}` : `${line}\n`);
  };

  const progress = (label: string, total: number): Progress => {
    let count = 0;
    let shown = false;
    let ticker: ReturnType<typeof setInterval> | undefined;
    const text = (): string => `${label}: ${count}/${total} requests`;
    const draw = (): void => {
      if (tty) {
        const width = 20;
        const filled = Math.round((count / Math.max(1, total)) * width);
        bar = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count}/${total}`;
        stream.write(`${CLEAR_LINE}${bar}`);
      } else {
        stream.write(`${text()}\n`);
      }
    };
    // Timers are unref'd: a progress line must never keep the process alive.
    const start = setTimeout(() => {
      shown = true;
      draw();
      ticker = setInterval(draw, tty ? redrawMs : delayMs);
      ticker.unref();
    }, delayMs);
    start.unref();

    return {
      tick: () => {
        count += 1;
      },
      done: () => {
        clearTimeout(start);
        clearInterval(ticker);
        if (!shown) return;
        if (tty) stream.write(CLEAR_LINE);
        bar = '';
        stream.write(`${text()}, done\n`);
      },
    };
  };

  return { log, progress };
}
