// The `rx-token-stream/axios` entry: interceptors for an axios instance. axios is an optional
// peer dependency that this entry never loads: it installs on the application's own instance,
// and only axios's types are read here.
export { axiosAuth } from './interceptors.js';
export type { AxiosAuthOptions } from './interceptors.js';
export type { AdapterTokens } from '../options.js';
