import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Token } from 'rx-token-stream';
import { deferred } from '../support/marbles.js';
import { call, redisHarness, until } from './support.js';

describe('redisShared: the lock', () => {
  const harness = redisHarness();
  const { shared } = harness;

  it('takes over when the holder dies and its lock expires', async () => {
    const source = shared();
    await harness.redis.set(source.keys.lockKey, 'a-holder-that-died', 'PX', 200);
    const token = await call(source).result;
    expect(token.value).to.equal('tok-1');
    expect(harness.server.calls).to.equal(1);
    expect(JSON.parse((await harness.redis.get(source.keys.tokenKey)) as string).value).to.equal('tok-1');
  });

  it('does not let a holder whose lock expired overwrite the newer token', async () => {
    harness.server.hold = true;
    const key = `spec-${randomUUID()}`;
    const stale = shared({ key });
    const fresh = shared({ key });
    const staleCall = call(stale);
    const staleAuth = await harness.server.nextHeld();
    // Its lock expires in the middle of its auth call, as after a long pause.
    await harness.redis.pexpire(stale.keys.lockKey, 1);
    await until(async () => (await harness.redis.exists(stale.keys.lockKey)) === 0, 'the lock expires');
    const freshCall = call(fresh);
    (await harness.server.nextHeld()).respond({ value: 'newer', expiresAt: Date.now() + 60_000 });
    expect((await freshCall.result).value).to.equal('newer');
    staleAuth.respond({ value: 'older', expiresAt: Date.now() + 60_000 });
    expect((await staleCall.result).value).to.equal('newer');
    expect(JSON.parse((await harness.redis.get(stale.keys.tokenKey)) as string).value).to.equal('newer');
    expect(harness.server.calls).to.equal(2);
  });

  // A holder paused past its lock (a GC pause, a frozen VM) comes back while another
  // process holds the lock and is still calling the auth server.
  describe('a holder whose lock was taken over while its source ran', () => {
    const takenOver = async (
      settle: (pending: ReturnType<typeof deferred<Token>>) => void,
    ): Promise<{ outcome: unknown; lock: string | null; stored: string | null }> => {
      const pending = deferred<Token>();
      const source = shared({}, () => pending.promise);
      const holder = call(source);
      await until(async () => (await harness.redis.exists(source.keys.lockKey)) === 1, 'the holder takes the lock');
      // Its lock expired and another process took it (the same key, another owner).
      await harness.redis.set(source.keys.lockKey, 'the-next-holder', 'PX', 10_000);
      settle(pending);
      const outcome = await holder.result.catch((error: unknown) => error);
      return {
        outcome,
        lock: await harness.redis.get(source.keys.lockKey),
        stored: await harness.redis.get(source.keys.tokenKey),
      };
    };

    it("leaves the new holder's lock when its source fails", async () => {
      const failure = new Error('auth server down');
      const { outcome, lock } = await takenOver((pending) => pending.reject(failure));
      expect(outcome).to.equal(failure);
      expect(lock).to.equal('the-next-holder');
    });

    it("neither writes its token nor releases the new holder's lock when its source succeeds", async () => {
      const { outcome, lock, stored } = await takenOver((pending) =>
        pending.resolve({ value: 'late', expiresAt: Date.now() + 60_000 }),
      );
      // Nothing newer is stored yet: it hands out its own token, and shares nothing.
      expect((outcome as Token).value).to.equal('late');
      expect(stored).to.equal(null);
      expect(lock).to.equal('the-next-holder');
    });

    it("leaves the new holder's lock when its token is too large to share", async () => {
      const { outcome, lock, stored } = await takenOver((pending) =>
        pending.resolve({ value: 'x'.repeat(70_000), expiresAt: Date.now() + 60_000 }),
      );
      expect((outcome as Token).value).to.have.length(70_000);
      expect(stored).to.equal(null);
      expect(lock).to.equal('the-next-holder');
    });
  });

  it('aborts its source call and releases its lock when the caller aborts', async () => {
    harness.server.hold = true;
    const source = shared();
    const { result, controller } = call(source);
    const held = await harness.server.nextHeld();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await result.catch((e: unknown) => e)).to.equal(reason);
    // The auth call itself is cancelled, and another process may take over at once.
    await held.gone;
    expect(await harness.redis.exists(source.keys.lockKey)).to.equal(0);
  });

  it('releases its own lock at once when its token is too large to share', async () => {
    const source = shared({}, async () => ({ value: 'x'.repeat(70_000), expiresAt: Date.now() + 60_000 }));
    await call(source).result;
    expect(await harness.redis.exists(source.keys.tokenKey, source.keys.lockKey)).to.equal(0);
  });

  it('looks again after taking the lock, and uses a token stored since its first read', async () => {
    // A client whose lock command waits for the spec: between this process's first read
    // and its SET NX, another process completes a whole refresh.
    let entered: () => void = () => {};
    const atLock = new Promise<void>((resolve) => (entered = resolve));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gated = new Proxy(harness.redis, {
      get(target, property) {
        if (property === 'set') {
          return async (...args: Parameters<Redis['set']>) => {
            entered();
            await gate;
            return (target.set as (...a: unknown[]) => Promise<unknown>)(...args);
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const source = shared({ redis: gated });
    const { result } = call(source);
    await atLock;
    await harness.redis.set(source.keys.tokenKey, JSON.stringify({ value: 'from-elsewhere', expiresAt: Date.now() + 60_000 }));
    release();
    expect((await result).value).to.equal('from-elsewhere');
    expect(harness.server.calls).to.equal(0);
    expect(await harness.redis.exists(source.keys.lockKey)).to.equal(0);
  });
});
