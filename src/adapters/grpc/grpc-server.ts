/**
 * One listening grpc-js server: binds host:port (port 0 picks a free port, reported
 * back), caps request messages at the configured size, and shuts down gracefully:
 * new calls are refused, long-lived streams are ended (ServerCallTracker), in-flight
 * calls get until the deadline, then whatever is left is cut off.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ServiceIdentifier } from 'inversify';
import { inject, injectable } from 'inversify';
import { Logger } from '../../application/ports/logger.js';
import { Metrics, type BoundCounter } from '../../application/ports/metrics.js';
import { rejectMalformedRequests, tolerantServerDefinition } from './malformed-request.js';
import { guardSession } from './reset-guard.js';
import { OpenSessions, watchSessions } from './server-sessions.js';
import { ServerCallTracker } from './server-call-tracker.js';
import { OxiaClientCompatService, OxiaClientService } from '../grpc-protocol/service-definitions.js';
import { CHANNEL_OPTIONS_COMMON } from '../grpc-protocol/channel-options.js';
import { ReloadingServerCredentials } from '../tls/grpc-server-credentials.js';
import type { ServerTlsSettings } from '../tls/tls-settings.js';

/**
 * Server-streaming calls that the server ends by itself once it has answered. A client
 * may reset them right after the answer (the official Node client cancels each Read on
 * its first message): reset-guard.ts counts those resets.
 */
const FINITE_SERVER_STREAM_PATHS: ReadonlySet<string> = new Set(
  [OxiaClientService, OxiaClientCompatService].flatMap((service) => [service.read.path, service.list.path, service.rangeScan.path]),
);

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface GrpcServerOptions {
  /** Where to listen, e.g. 127.0.0.1:6648, :: port 6648; port 0 picks a free port. */
  readonly bind: HostPort;
  /** Largest request message accepted (RequestLimits.requestSizeBytesMax). */
  readonly receiveMessageSizeBytesMax: number;
  /** How long graceful shutdown may take before remaining calls are cut off. */
  readonly shutdownTimeoutMs: number;
  /** A name for logs: 'public', 'internal', ... */
  readonly name: string;
  /** TLS on this listener (certificates followed as they rotate); plaintext when absent. */
  readonly tls?: ServerTlsSettings | undefined;
}
export const GrpcServerOptions: ServiceIdentifier<GrpcServerOptions> = Symbol.for('oxia.GrpcServerOptions');

/** 'host:port', with brackets around an IPv6 host. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

@injectable()
export class GrpcServer {
  private readonly server: Server;
  private bound: HostPort | undefined;
  private closing: Promise<void> | undefined;
  private tlsCredentials: ReloadingServerCredentials | undefined;
  private readonly log: Logger;
  private readonly drainedConnections: BoundCounter;
  /** Connections still open, for a shutdown whose grace period ran out. */
  private readonly sessions = new OpenSessions();

  constructor(
    @inject(GrpcServerOptions) private readonly options: GrpcServerOptions,
    @inject(ServerCallTracker) private readonly calls: ServerCallTracker,
    @inject(Logger) logger: Logger,
    @inject(Metrics) metrics: Metrics,
  ) {
    this.log = logger.child({ component: 'grpc-server', server: options.name });
    this.drainedConnections = metrics
      .counter('oxia_grpc_server_connections_drained_total', 'Client connections moved to a new connection before the HTTP/2 stream-reset limit would close them', ['server'])
      .bind({ server: options.name });
    this.server = new Server({
      'grpc.max_receive_message_length': options.receiveMessageSizeBytesMax,
      'grpc.max_send_message_length': -1,
      // Clients (Oxia's included) ping idle connections to keep them through NATs.
      'grpc.keepalive_permit_without_calls': 1,
      // Off as for channels (channel-options.ts); forced shutdown cuts connections itself (OpenSessions).
      ...CHANNEL_OPTIONS_COMMON,
    });
  }

  /** Registers a service; undecodable requests are answered INVALID_ARGUMENT (see malformed-request.ts). */
  addService(definition: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    this.server.addService(tolerantServerDefinition(definition), rejectMalformedRequests(definition, implementation));
  }

  /** Starts listening; resolves with the bound address (the real port when 0 was asked). */
  async listen(): Promise<HostPort> {
    if (this.bound) return this.bound;
    const address = formatHostPort(this.options.bind);
    // Reads the files now: a missing or bad one fails the start, naming the file.
    const tls = this.options.tls;
    if (tls && !this.tlsCredentials) this.tlsCredentials = new ReloadingServerCredentials(tls, this.log);
    const port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, this.tlsCredentials ?? ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(new Error(`cannot listen on ${address}: ${error.message}`)) : resolve(p),
      );
    });
    this.bound = { host: this.options.bind.host, port };
    const resetEvents = {
      drained: (peer: string, estimatedResets: number) => {
        this.drainedConnections.inc();
        this.log.debug('moved a client to a new connection before the stream-reset limit', { peer, estimatedResets });
      },
    };
    const watched = watchSessions(this.server, (session) => {
      this.sessions.add(session);
      guardSession(session, (path) => FINITE_SERVER_STREAM_PATHS.has(path), resetEvents);
    });
    if (!watched) {
      this.log.warn('cannot watch HTTP/2 connections (grpc-js internals changed): clients that reset many streams may be disconnected, and a shutdown that times out cannot cut open calls');
    }
    this.log.info('listening', { address: formatHostPort(this.bound), tls: tls !== undefined, ...(tls ? { clientAuth: tls.clientAuth } : {}) });
    return this.bound;
  }

  /** The bound address; only valid after listen() resolved. */
  boundAddress(): HostPort {
    if (!this.bound) throw new Error('GrpcServer.boundAddress() called before listen()');
    return this.bound;
  }

  /** Graceful shutdown with a deadline, then force. Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.tlsCredentials?.close();
    const graceful = new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    // tryShutdown refuses new calls but waits for open ones: end the endless ones now.
    this.calls.shutdown();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.options.shutdownTimeoutMs);
    });
    const forced = await Promise.race([graceful.then(() => false), timedOut]);
    clearTimeout(timer);
    if (forced) {
      this.log.warn('graceful shutdown timed out; closing remaining calls', {
        timeoutMs: this.options.shutdownTimeoutMs,
        openCalls: this.calls.activeCount,
      });
      this.server.forceShutdown();
      const cut = this.sessions.destroyAll();
      if (cut > 0) this.log.info('closed the connections still open', { connections: cut });
    }
    this.log.info('stopped');
  }
}
