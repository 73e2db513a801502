// The `rx-token-stream/got` entry: hooks for got. got is an optional peer dependency that this
// entry never loads: the application passes the hooks to its own got, and only got's types
// are read here.
export { gotAuth } from './hooks.js';
export type { GotAuthHooks, GotAuthOptions } from './hooks.js';
export type { AdapterTokens } from '../options.js';
