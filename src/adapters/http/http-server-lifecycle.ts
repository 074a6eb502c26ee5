import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Where an HTTP server listens; `host` '' means every interface. */
export interface BoundHttpAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Starts `server` on `host:port` (port 0: a free one) and resolves with the port it got; a
 * failure to bind rejects, naming the address and what the listener is `for`.
 */
export async function listenHttp(server: Server, host: string, port: number, what: string): Promise<BoundHttpAddress> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`cannot listen on ${host}:${port} for ${what}: ${error.message}`)));
    server.listen(port, host === '' ? undefined : host, () => resolve());
  });
  return { host, port: (server.address() as AddressInfo).port };
}

/** Stops `server` now: open (keep-alive, streaming) connections are closed rather than waited for. */
export function closeHttpServerNow(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
