import { peerEntryContract } from '../support/peer-entry.js';

describe('the rx-token-stream/redis entry', () => {
  peerEntryContract({ entry: 'rx-token-stream/redis', peer: 'ioredis', own: '/lib/redis/shared-source.ts' });
});
