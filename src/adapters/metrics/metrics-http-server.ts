/** Serves the Prometheus exposition on GET /metrics (Oxia's --metrics-addr). */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServiceIdentifier } from 'inversify';
import { inject, injectable } from 'inversify';
import { Logger } from '../../application/ports/logger.js';
import { PromMetrics } from './prom-metrics.js';

export interface MetricsHttpOptions {
  /** Where to listen; port 0 picks a free port. */
  readonly bind: { readonly host: string; readonly port: number };
}
export const MetricsHttpOptions: ServiceIdentifier<MetricsHttpOptions> = Symbol.for('oxia.MetricsHttpOptions');

export interface BoundHttpAddress {
  readonly host: string;
  readonly port: number;
}

@injectable()
export class MetricsHttpServer {
  private server: Server | undefined;
  private readonly log: Logger;

  constructor(
    @inject(MetricsHttpOptions) private readonly options: MetricsHttpOptions,
    @inject(PromMetrics) private readonly metrics: PromMetrics,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child({ component: 'metrics-http' });
  }

  async listen(): Promise<BoundHttpAddress> {
    const { host, port } = this.options.bind;
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
        return;
      }
      this.metrics.exposition().then(
        ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
        (error: unknown) => {
          this.log.error('collecting metrics failed', { error: String(error) });
          res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
        },
      );
    });
    // Scrapers hold connections open; they must not delay shutdown.
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new Error(`cannot listen on ${host}:${port} for metrics: ${error.message}`)));
      server.listen(port, host === '' ? undefined : host, () => resolve());
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    return { host, port: address.port };
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
