// The parent's side of a fleet of forked processes (spec/fixtures/rotation-child.ts) that
// share a redisCredentialStore: each is driven over IPC, tells where it stopped, and can be
// SIGKILLed.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisCredentialStore, type RedisCredentialStore } from 'rx-token-stream/redis';
import type { RotationChildRequest } from '../fixtures/rotation-child.js';
import { Forked } from '../redis/forked.js';
import { requireRedis } from '../support/redis-server.js';

const FIXTURE = 'rotation-child.ts';

/** One forked process of the fleet; its {@link Forked.notice} tells the kill point it reached. */
export type FleetChild = Forked<RotationChildRequest>;

/** A child's setup request, less what {@link fleetHarness} fills in: the Redis and its key prefix. */
export type FleetSetup = Omit<Extract<RotationChildRequest, { type: 'setup' }>, 'type' | 'redisUrl' | 'keyPrefix'>;

/** What {@link fleetHarness} hands each spec. */
export interface FleetHarness {
  /** The store the fleet shares, from this process. */
  readonly store: RedisCredentialStore;
  /** The forked processes. */
  readonly children: readonly FleetChild[];
  /** Forks a new process in place of each one that was killed. */
  replaceKilled(): Promise<void>;
  /** Sets every child up with `request` on the fleet's store; `each(index)` adds to one child's request. */
  setup(request: FleetSetup, each?: (index: number) => Partial<FleetSetup>): Promise<unknown>;
}

/**
 * Registers, in the calling `describe`, the hooks of a fleet of `count` processes that share
 * a redisCredentialStore on the spec-wide Redis, under a key prefix of its own: the suite
 * skips without Redis; after it, the fleet leaves and the prefix's keys are deleted.
 */
export function fleetHarness(name: string, count = 4): FleetHarness {
  let url = '';
  let redis: Redis | undefined;
  let store: RedisCredentialStore | undefined;
  let children: FleetChild[] = [];
  const keyPrefix = `spec-${name}-${randomUUID()}:`;
  before(async function () {
    url = requireRedis(this);
    redis = new Redis(url);
    store = redisCredentialStore({ redis, keyPrefix });
    children = await Forked.forkAll<RotationChildRequest>(FIXTURE, count);
  });
  after(async () => {
    await Promise.all(children.map((child) => child.stop({ type: 'teardown' })));
    await store?.close();
    const keys = (await redis?.keys(`${keyPrefix}*`)) ?? [];
    if (keys.length > 0) await redis?.del(...keys);
    redis?.disconnect();
  });
  return {
    get store() {
      return store as RedisCredentialStore;
    },
    get children() {
      return children;
    },
    async replaceKilled() {
      children = await Promise.all(children.map((child) => (child.alive ? child : Forked.fork<RotationChildRequest>(FIXTURE))));
    },
    setup: (request, each = () => ({})) =>
      Promise.all(children.map((child, index) => child.request({ type: 'setup', redisUrl: url, keyPrefix, ...request, ...each(index) }))),
  };
}
