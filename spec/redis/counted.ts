// What the pacing and keyed specs count of what a shared source sends: the real client,
// seen through a Proxy that counts each command (alone or in a pipeline), and a clock
// that moves only when a spec says so.
import type { Redis } from 'ioredis';
import { VirtualTimeScheduler } from 'rxjs';

/** A scheduler whose clock and timers move only with {@link advance}. */
export class ManualScheduler extends VirtualTimeScheduler {
  advance(ms: number): void {
    const target = this.frame + ms;
    this.maxFrames = target;
    this.flush();
    this.frame = target;
  }
}

/** The real client, counting the commands sent through it, and the subscriber connections it opens. */
export interface Counted {
  client: Redis;
  /** Reads of the token (GET, MGET, or the read script) sent so far. */
  reads(): number;
  /** SET commands (the race for the lock) sent so far. */
  sets(): number;
  /** Round trips so far: each pipeline, and each command sent alone. */
  roundTrips(): number;
  subscribers: Redis[];
}

type Method = (...args: unknown[]) => unknown;

/**
 * Counts what goes through `redis`. With `loseEveryLock`, every SET sent alone answers as
 * if another process had taken the lock (and was gone by the next read).
 */
export function counted(redis: Redis, { loseEveryLock = false } = {}): Counted {
  const sent = new Map<string, number>();
  let roundTrips = 0;
  const count = (name: string): void => {
    sent.set(name, (sent.get(name) ?? 0) + 1);
  };
  const subscribers: Redis[] = [];
  const pipelineOf = (target: Redis): unknown => {
    roundTrips += 1;
    const pipeline = target.pipeline();
    return new Proxy(pipeline, {
      get(inner, property) {
        const value: unknown = Reflect.get(inner, property, inner);
        if (typeof value !== 'function' || property === 'exec') return typeof value === 'function' ? value.bind(inner) : value;
        return (...args: unknown[]) => {
          if (typeof property === 'string') count(property);
          return (value as Method).apply(inner, args);
        };
      },
    });
  };
  const client = new Proxy(redis, {
    get(target, property) {
      if (property === 'duplicate') {
        return (...args: Parameters<Redis['duplicate']>) => {
          const subscriber = target.duplicate(...args);
          subscribers.push(subscriber);
          return subscriber;
        };
      }
      if (property === 'pipeline') return () => pipelineOf(target);
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (typeof property === 'string') count(property);
        if (property === 'eval' || property === 'set' || property === 'get' || property === 'mget') roundTrips += 1;
        if (property === 'set' && loseEveryLock) return Promise.resolve(null);
        return (value as Method).apply(target, args);
      };
    },
  });
  const n = (name: string): number => sent.get(name) ?? 0;
  return { client, reads: () => n('eval') + n('get') + n('mget'), sets: () => n('set'), roundTrips: () => roundTrips, subscribers };
}
