/**
 * The six clients of the conformance suite, each behind one small driver: how to build it
 * with its adapter, send a request, and what it does differently by design (docs/adapters.md
 * lists the same differences).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import axios from 'axios';
import got from 'got';
import ky from 'ky';
import nodeFetch from 'node-fetch';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { authFetch, type Token } from 'rx-token-stream';
import { axiosAuth } from 'rx-token-stream/axios';
import { gotAuth } from 'rx-token-stream/got';
import { kyAuth } from 'rx-token-stream/ky';
import { authInterceptor, type AuthInterceptorOptions as AdapterOptions } from 'rx-token-stream/undici';
import { CERT } from '../http/auth-fetch/tls.js';

/** Where a client's connections go, beyond plain loopback. */
export interface Network {
  /** Every connection goes to this loopback port, whatever host and port its URL names. */
  routeTo?: number;
  /** https trusts the specs' certificate. */
  trustSpecCert?: boolean;
}

export interface SendOptions {
  method?: string;
  /** A string (every client can send it again) or a stream of these chunks, read once. */
  body?: string | { stream: string[] };
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** What came back: the status, and the client's error when it reports that status as one. */
export interface Outcome {
  status: number;
  error?: unknown;
  /** The client's response object, for the secret checks. */
  response?: unknown;
}

export interface Sender {
  /** Sends and reads the body. Resolves with any status; rejects as the client does otherwise. */
  send(url: string, options?: SendOptions): Promise<Outcome>;
  /** The adapter object the application holds (an interceptor, hooks), for the secret checks. */
  readonly adapter: unknown;
  close(): Promise<void>;
}

type Tokens = { getToken(options?: { signal?: AbortSignal }): Promise<Token>; invalidate(token: Token | string): void };

export interface ClientUnderTest {
  name: string;
  create(tokens: Tokens, options: AdapterOptions, network?: Network): Sender;
  /** Whether a stream body that gets a 401 is sent a second time. */
  replaysStreams: boolean;
  /** Whether `error` is how this client reports its caller's abort. */
  isAbort(error: unknown): boolean;
  /**
   * Whether a successful response holds Node's request, whose raw headers show the token, as
   * with a fixed header (axios, got): the adapters keep errors clean, not these.
   */
  responseHoldsRequest: boolean;
}

const CONNECTIONS = 64;

function nodeAgents(network: Network): { http: HttpAgent; https: HttpsAgent } {
  const http = new HttpAgent({ keepAlive: true, maxSockets: CONNECTIONS });
  if (network.routeTo !== undefined) {
    const port = network.routeTo;
    Object.assign(http, { createConnection: () => netConnect({ host: '127.0.0.1', port }) });
  }
  const https = new HttpsAgent({ keepAlive: true, maxSockets: CONNECTIONS, ...(network.trustSpecCert ? { ca: CERT } : {}) });
  return { http, https };
}

/** An undici Agent for `network`: routed connections, or trust in the specs' certificate. */
function undiciAgent(network: Network): Agent {
  if (network.routeTo !== undefined) {
    const port = network.routeTo;
    const connect = (_options: unknown, callback: (error: Error | null, socket: Socket | null) => void): void => {
      const socket = netConnect({ host: '127.0.0.1', port });
      socket.once('connect', () => callback(null, socket)).once('error', (error) => callback(error, null));
    };
    return new Agent({ connections: CONNECTIONS, connect: connect as never });
  }
  return new Agent({ connections: CONNECTIONS, ...(network.trustSpecCert ? { connect: { ca: CERT } } : {}) });
}

const nodeStream = (body: SendOptions['body']) => (typeof body === 'object' ? Readable.from(body.stream) : body);
const webStream = (body: SendOptions['body']) => (typeof body === 'object' ? Readable.toWeb(Readable.from(body.stream)) : body);
const isDomAbort = (error: unknown): boolean => error instanceof DOMException && error.name === 'AbortError';

export const clients: ClientUnderTest[] = [
  {
    name: 'authFetch on node-fetch',
    responseHoldsRequest: false,
    replaysStreams: false,
    isAbort: (error) => (error as Error)?.name === 'AbortError' || (error as { code?: string })?.code === 'ERR_TOKEN_ABORTED',
    create(tokens, options, network = {}) {
      const agents = nodeAgents(network);
      const fetch = authFetch(tokens, options);
      return {
        adapter: fetch,
        async send(url, { method, body, signal, headers } = {}) {
          const agent = (parsed: URL) => (parsed.protocol === 'https:' ? agents.https : agents.http);
          const response = await fetch(url, { method, body: nodeStream(body), headers, agent, ...(signal ? { signal } : {}) } as Parameters<typeof nodeFetch>[1]);
          await response.text();
          return { status: response.status, response };
        },
        close: async () => void (agents.http.destroy(), agents.https.destroy()),
      };
    },
  },
  {
    name: 'authFetch on global fetch',
    responseHoldsRequest: false,
    replaysStreams: false,
    isAbort: (error) => isDomAbort(error) || (error as { code?: string })?.code === 'ERR_TOKEN_ABORTED',
    create(tokens, options, network = {}) {
      const dispatcher = undiciAgent(network);
      const fetch = authFetch(tokens, { ...options, fetch: globalThis.fetch });
      return {
        adapter: fetch,
        async send(url, { method, body, signal, headers } = {}) {
          const init = { method, body: webStream(body), headers, signal, dispatcher, duplex: 'half' };
          const response = await fetch(url, init as never);
          await response.text();
          return { status: response.status, response };
        },
        close: () => dispatcher.close(),
      };
    },
  },
  {
    name: 'undici request',
    responseHoldsRequest: false,
    replaysStreams: false,
    isAbort: (error) => isDomAbort(error) || (error as Error)?.name === 'AbortError',
    create(tokens, options, network = {}) {
      const agent = undiciAgent(network);
      const adapter = authInterceptor(tokens, options);
      const dispatcher = agent.compose(interceptors.redirect({ maxRedirections: 5 }), adapter);
      return {
        adapter,
        async send(url, { method = 'GET', body, signal, headers } = {}) {
          const response = await request(url, { method: method as Dispatcher.HttpMethod, body: nodeStream(body) ?? null, headers, signal, dispatcher } as never);
          await response.body.text();
          return { status: response.statusCode, response };
        },
        close: () => agent.close(),
      };
    },
  },
  {
    name: 'axios',
    responseHoldsRequest: true,
    replaysStreams: false,
    isAbort: (error) => axios.isCancel(error),
    create(tokens, options, network = {}) {
      const agents = nodeAgents(network);
      const instance = axios.create({ httpAgent: agents.http, httpsAgent: agents.https, maxRedirects: 5, responseType: 'text' });
      const eject = axiosAuth(instance, tokens, options);
      return {
        adapter: eject,
        async send(url, { method, body, signal, headers } = {}) {
          try {
            const response = await instance.request({ url, method, data: nodeStream(body), signal, headers } as never);
            return { status: response.status, response };
          } catch (error) {
            if (axios.isAxiosError(error) && error.response !== undefined) return { status: error.response.status, error, response: error.response };
            throw error;
          }
        },
        close: async () => void (agents.http.destroy(), agents.https.destroy()),
      };
    },
  },
  {
    name: 'ky',
    responseHoldsRequest: false,
    replaysStreams: true,
    isAbort: isDomAbort,
    create(tokens, options, network = {}) {
      const dispatcher = undiciAgent(network);
      const hooks = kyAuth(tokens, options);
      // No retries of ky's own: a refused connection would otherwise wait out its backoff.
      const api = ky.create({ hooks, retry: 0, dispatcher } as never);
      return {
        adapter: hooks,
        async send(url, { method, body, signal, headers } = {}) {
          try {
            const response = await api(url, { method, body: webStream(body), headers, ...(signal ? { signal } : {}) } as never);
            await response.text();
            return { status: response.status, response };
          } catch (error) {
            if ((error as Error).name === 'HTTPError') return { status: (error as { response: Response }).response.status, error };
            throw error;
          }
        },
        close: () => dispatcher.close(),
      };
    },
  },
  {
    name: 'got',
    responseHoldsRequest: true,
    replaysStreams: false,
    isAbort: (error) => (error as Error)?.name === 'AbortError',
    create(tokens, options, network = {}) {
      const agents = nodeAgents(network);
      const hooks = gotAuth(tokens, options);
      // No retries of got's own: a refused connection would otherwise wait out its backoff.
      const api = got.extend({ hooks, agent: agents, retry: { limit: 0 }, https: network.trustSpecCert ? { certificateAuthority: CERT } : {} });
      return {
        adapter: hooks,
        async send(url, { method = 'GET', body, signal, headers } = {}) {
          try {
            const response = await api(url, { method, body: nodeStream(body), headers, ...(signal ? { signal } : {}) } as never);
            return { status: response.statusCode, response };
          } catch (error) {
            if ((error as Error).name === 'HTTPError') return { status: (error as { response: { statusCode: number } }).response.statusCode, error };
            throw error;
          }
        },
        close: async () => void (agents.http.destroy(), agents.https.destroy()),
      };
    },
  },
];
