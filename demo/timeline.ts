/**
 * What happened when, for `npm run demo -- --svg FILE`: each request's way through a
 * service, each auth call and each new token, with its time. Without `--svg` nothing is
 * recorded. With it, one small object per event, in memory until the run ends.
 *
 * Every event is recorded in the demo's own process, where the load, the auth server and
 * the partner API run, except the new tokens of forked services, which their processes
 * send as they close.
 */

/** One lane of a service in the picture. */
export type Lane = 'sent' | '401' | 'retried' | 'done' | 'failed' | 'auth call';

/** The lanes in the order they are drawn, top to bottom. */
export const LANES: readonly Lane[] = ['sent', '401', 'retried', 'done', 'failed', 'auth call'];

/** An event of one service, at an epoch time in ms (fractional). */
export interface TimelineEvent {
  service: string;
  lane: Lane;
  at: number;
}

/** A token a service's `TokenStream` received, in one of its processes (1 to N; 1 without `--processes`). */
export interface Rotation {
  service: string;
  process: number;
  at: number;
}

/** One round of load on one service, from its first request to its last answer. */
export interface Burst {
  service: string;
  round: number;
  mode: 'sequential' | 'parallel';
  startedAt: number;
  endedAt: number;
}

/** Everything a timeline picture is drawn from. */
export interface TimelineRecord {
  /** The services, in the order of the demo's table. */
  services: string[];
  /** When the demo began to start its servers: time 0 of the picture. */
  startedAt: number;
  /** When the last round ended. */
  endedAt: number;
  /** Requests per round and service, and how many processes served each (1 without `--processes`). */
  parallel: number;
  processes: number;
  /** Token lifetime and auth server latency, ms. */
  ttlMs: number;
  authLatencyMs: number;
  /** The services that hold their token in a `TokenStream`: only theirs are counted as new tokens. */
  streams: string[];
  bursts: Burst[];
  events: TimelineEvent[];
  rotations: Rotation[];
}

/**
 * Epoch ms with sub-ms precision. The same clock in every process of the machine, so that
 * a forked service's new tokens line up with what the demo recorded.
 */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/** The header the load tags each request with, and the services pass on to the partner API. */
export const REQUEST_ID = 'x-request-id';

/**
 * Collects a run's events from `start()`, before the servers start (a `TokenStream` takes
 * its first token then), until each service's figures are counted for the last time: the
 * window that the demo's counts cover.
 */
export class TimelineRecorder {
  readonly #events: TimelineEvent[] = [];
  readonly #bursts: Burst[] = [];
  /** Partner API requests seen, by service and request id: a second one is a retry. */
  readonly #attempted = new Set<string>();
  /** When each service's figures were last counted. */
  readonly #countedAt = new Map<string, number>();
  #startedAt = Number.NaN;
  #endedAt = Number.NaN;
  #recording = false;

  start(): void {
    this.#startedAt = epochMs();
    this.#recording = true;
  }

  /** Ends recording: what happens while the servers close is in no count of the run. */
  stop(): void {
    this.#endedAt = epochMs();
    this.#recording = false;
  }

  /**
   * The demo counted `service`'s figures now. Its events after the last such moment are in
   * none of its counts (a background refresh while the next service is loaded), and so
   * they are left out of the picture too.
   */
  counted(service: string): void {
    this.#countedAt.set(service, epochMs());
  }

  /** An event of `service` now. */
  record(service: string, lane: Lane): void {
    if (this.#recording) this.#events.push({ service, lane, at: epochMs() });
  }

  /**
   * The partner API answered `service` (the client its token names): a 401 is one event,
   * and a request id it has seen before from that service is a retry.
   */
  partnerAnswered(service: string, status: number, requestId: string | undefined): void {
    if (!this.#recording) return;
    if (requestId !== undefined) {
      const key = `${service} ${requestId}`;
      if (this.#attempted.has(key)) this.record(service, 'retried');
      else this.#attempted.add(key);
    }
    if (status === 401) this.record(service, '401');
  }

  /** A round of load on one service ran from `startedAt` until now. */
  burst(service: string, round: number, startedAt: number): void {
    this.#bursts.push({ service, round, mode: round === 1 ? 'sequential' : 'parallel', startedAt, endedAt: epochMs() });
  }

  /** The record, once the run is over: `rotations` come from the services as they close. */
  result(shape: Omit<TimelineRecord, 'startedAt' | 'endedAt' | 'bursts' | 'events'>): TimelineRecord {
    const counted = (event: TimelineEvent): boolean => event.at <= (this.#countedAt.get(event.service) ?? this.#endedAt);
    return { ...shape, startedAt: this.#startedAt, endedAt: this.#endedAt, bursts: [...this.#bursts], events: this.#events.filter(counted) };
  }
}
