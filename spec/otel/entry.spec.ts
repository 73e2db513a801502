import { peerEntryContract } from '../support/peer-entry.js';

describe('the rx-token-stream/otel entry', () => {
  peerEntryContract({ entry: 'rx-token-stream/otel', peer: '@opentelemetry/api', own: '/lib/otel/instrument.ts', unwanted: ['/lib/http/', '/lib/redis/'] });
});
