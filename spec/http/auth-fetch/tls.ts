import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { listenOnLoopback } from '../../support/loopback.js';

// A self-signed certificate for 127.0.0.1 and localhost, made for these specs only
// (EC P-256, self-signed with `openssl ca -selfsign`, valid 2000 to 2100). It
// protects nothing: it lets a loopback server speak TLS so that an https-to-http redirect
// can be observed. The client adapters' specs trust it too.
export const CERT = `
-----BEGIN CERTIFICATE-----
MIIBaDCCAQ2gAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAkxMjcuMC4w
LjEwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CTEyNy4wLjAuMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABASdA/8lfKGAXB/6
TkS1SbeB+1xvCJjEd2RR4RAMqQZUowvsj1LBYYPAI+qtHlBHbama3m5JigpZnn2l
qjpToIijTjBMMA8GA1UdEwEB/wQFMAMBAf8wGgYDVR0RBBMwEYcEfwAAAYIJbG9j
YWxob3N0MB0GA1UdDgQWBBT861RoCG0VR6y6frJyBq4M9IoU3TAKBggqhkjOPQQD
AgNJADBGAiEAk/8bn6sNFAgz820BS2RsDEn6rVUA7swkkSkX1dzP13kCIQCUlBDF
kYEDxzn9DQ0NpSQwgA95bMLAufv9HOSwRSaNyg==
-----END CERTIFICATE-----
`;

const KEY = `
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgIVLx6bvHhIvPVij/
NNoUXc69TZ+chrpLYn4P0Q8klkWhRANCAAQEnQP/JXyhgFwf+k5EtUm3gftcbwiY
xHdkUeEQDKkGVKML7I9SwWGDwCPqrR5QR22pmt5uSYoKWZ59pao6U6CI
-----END PRIVATE KEY-----
`;

/** An agent for node-fetch that trusts {@link CERT}, and only it. */
export const trustingAgent = new HttpsAgent({ ca: CERT, keepAlive: false });

/** One loopback port that answers both plain http and TLS, with the same handler. */
export interface DualSchemeServer {
  port: number;
  /** `http://127.0.0.1:<port>` */
  httpOrigin: string;
  /** `https://127.0.0.1:<port>` */
  httpsOrigin: string;
  close(): Promise<void>;
}

/**
 * Starts `handler` on one port for both schemes, told apart by the first byte a client
 * sends (22 opens a TLS handshake), so that a redirect which changes only the scheme
 * keeps host and port.
 */
export async function listenDualScheme(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<DualSchemeServer> {
  const http = createHttpServer(handler);
  const https = createHttpsServer({ cert: CERT.trim(), key: KEY.trim() }, handler);
  const sockets = new Set<Socket>();
  const front = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      (chunk[0] === 22 ? https : http).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });
  const port = await listenOnLoopback(front);
  return {
    port,
    httpOrigin: `http://127.0.0.1:${port}`,
    httpsOrigin: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        http.closeAllConnections();
        front.close(() => resolve());
      }),
  };
}
