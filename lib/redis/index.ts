// The `rx-token-stream/redis` entry: fleet mode. It is the only part of the package that
// loads ioredis, so that `rx-token-stream` itself never does.
export { redisShared } from './redis-shared.js';
export type { KeyedSharedTokenSource, SharedTokenSource } from './redis-shared.js';
export type { RedisSharedOptions } from './options.js';
export { sharedKeys } from './keys.js';
export type { SharedKeyFunction, SharedKeys } from './keys.js';
export { redisCredentialStore } from './credential-store.js';
export type { RedisCredentialStore, RedisCredentialStoreOptions } from './credential-store.js';
export type { CredentialKeys } from './credential-scripts.js';
