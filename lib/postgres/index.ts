// The `rx-token-stream/postgres` entry: a credential store in PostgreSQL. It is the only part
// of the package that loads pg, so that `rx-token-stream` itself never does.
export { postgresCredentialStore, MAX_KEY_BYTES } from './credential-store.js';
export type { PostgresCredentialStore } from './credential-store.js';
export type { PostgresCredentialStoreOptions } from './options.js';
export { PostgresStoreError, isPostgresStoreError } from './errors.js';
export type { PostgresStoreStep } from './errors.js';
