/**
 * Serves the Prometheus exposition on GET /metrics (Oxia's --metrics-addr), over HTTPS when
 * given a certificate (followed as it rotates, like the gRPC listeners').
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { ServiceIdentifier } from 'inversify';
import { inject, injectable } from 'inversify';
import { Logger } from '../../application/ports/logger.js';
import { PromMetrics } from './prom-metrics.js';
import { WatchedTlsFiles } from '../tls/watched-tls-files.js';
import { type BoundHttpAddress, closeHttpServerNow, listenHttp } from '../http/http-server-lifecycle.js';

export interface MetricsHttpOptions {
  /** Where to listen; port 0 picks a free port. */
  readonly bind: { readonly host: string; readonly port: number };
  /** HTTPS with this certificate; plain HTTP when absent. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string } | undefined;
}
export const MetricsHttpOptions: ServiceIdentifier<MetricsHttpOptions> = Symbol.for('oxia.MetricsHttpOptions');

@injectable()
export class MetricsHttpServer {
  private server: Server | undefined;
  private tlsFiles: WatchedTlsFiles | undefined;
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
    const handle = (req: IncomingMessage, res: ServerResponse): void => {
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
    };
    const tls = this.options.tls;
    let server: Server;
    if (tls) {
      // Reads the files now: a missing or bad one fails the start, naming the file.
      const files = new WatchedTlsFiles(tls, this.log);
      this.tlsFiles = files;
      const https = createHttpsServer({ cert: files.material.cert, key: files.material.key }, handle);
      files.onChange((m) => https.setSecureContext({ cert: m.cert, key: m.key }));
      server = https;
    } else {
      server = createServer(handle);
    }
    // Scrapers hold connections open; they must not delay shutdown.
    server.keepAliveTimeout = 5_000;
    const bound = await listenHttp(server, host, port, 'metrics');
    this.server = server;
    return bound;
  }

  /** 'https' when serving over TLS. */
  get scheme(): 'http' | 'https' {
    return this.options.tls ? 'https' : 'http';
  }

  async close(): Promise<void> {
    this.tlsFiles?.close();
    this.tlsFiles = undefined;
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeHttpServerNow(server);
  }
}
