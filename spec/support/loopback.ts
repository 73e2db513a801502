import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';

/** Has `server` listen on 127.0.0.1, on a port the OS picks; resolves with that port. */
export async function listenOnLoopback(server: NetServer): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** A node:http server listening on an ephemeral 127.0.0.1 port. */
export interface LoopbackServer {
  server: Server;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** Closes the server and every socket still open to it. */
  close(): Promise<void>;
}

/** Starts `handler` on 127.0.0.1 with a port the OS picks. */
export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<LoopbackServer> {
  const server = createServer(handler);
  const port = await listenOnLoopback(server);
  return {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
