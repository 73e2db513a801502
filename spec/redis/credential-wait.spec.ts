// redisCredentialStore's WAIT on the specs' standalone redis-server, which has no replica:
// a write is kept, and reported as not acknowledged, within replicaTimeoutMs.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { redisCredentialStore } from 'rx-token-stream/redis';
import { requireRedis } from '../support/redis-server.js';

describe('redisCredentialStore replicas', () => {
  it('keeps a write no replica acknowledged, and tells onUnreplicated the key and the counts, never the token', async function () {
    const url = requireRedis(this);
    const reports: unknown[] = [];
    const store = redisCredentialStore({ redis: url, keyPrefix: `spec-${randomUUID()}:`, replicas: 1, replicaTimeoutMs: 20, onUnreplicated: (report) => reports.push(report) });
    try {
      expect(await store.put('user-1', { refreshToken: 'rt-wait-must-not-leak' })).to.equal(1);
      expect(await store.get('user-1')).to.deep.include({ refreshToken: 'rt-wait-must-not-leak', version: 1 });
      expect(reports).to.deep.equal([{ key: 'user-1', step: 'put', acknowledged: 0, replicas: 1 }]);
      expect(JSON.stringify(reports)).not.to.include('rt-wait');
    } finally {
      await store.close();
    }
  });

  it('refuses replicas and replicaTimeoutMs out of range, naming them', () => {
    expect(() => redisCredentialStore({ redis: 'redis://127.0.0.1:1', replicas: -1 })).to.throw(TypeError, /replicas/);
    expect(() => redisCredentialStore({ redis: 'redis://127.0.0.1:1', replicaTimeoutMs: 1_000 })).to.throw(TypeError, /replicaTimeoutMs/);
    expect(() => redisCredentialStore({ redis: 'redis://127.0.0.1:1', onUnreplicated: 1 as never })).to.throw(TypeError, /onUnreplicated/);
  });
});
