import { peerEntryContract } from '../support/peer-entry.js';

describe('the rx-token-stream/postgres entry', () => {
  peerEntryContract({ entry: 'rx-token-stream/postgres', peer: 'pg', own: '/lib/postgres/credential-store.ts', unwanted: ['/node_modules/ioredis/'] });
});
