// The `rx-token-stream/undici` entry: an undici interceptor. undici is an optional peer
// dependency that this entry never loads: the application composes the interceptor into its
// own Agent, and only undici's types are read here.
export { authInterceptor } from './interceptor.js';
export type { AuthInterceptorOptions } from './interceptor.js';
export type { AdapterTokens } from '../options.js';
