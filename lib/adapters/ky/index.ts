// The `rx-token-stream/ky` entry: hooks for ky. ky is an optional peer dependency that this
// entry never loads: the application passes the hooks to its own ky, and only ky's types
// are read here.
export { kyAuth } from './hooks.js';
export type { KyAuthHooks, KyAuthOptions } from './hooks.js';
export type { AdapterTokens } from '../options.js';
