/**
 * grpc.health.v1.Health: per-service serving status for load balancers, probes and
 * the `oxia-ts` end-to-end tests. The board starts NOT_SERVING for every known
 * service; bootstrap flips it to SERVING once the node has opened its shards and
 * back to NOT_SERVING when shutdown starts.
 *
 * Readiness (`oxia-readiness`) is SERVING only while the rest is and every condition
 * registered through the ReadinessGate port is met: a storage node holds it back until
 * the coordinator's first shard assignments arrived, as Oxia's data server does, so
 * that clients are not sent to a node that cannot yet tell them where shards are.
 *
 * Conditions registered with requireForHealth() (a shard that cannot write, ADR 0029) also
 * hold back the whole server's status (""), which the coordinator watches to move
 * leaderships away. `oxia-liveness` follows only start and shutdown: it is what a liveness
 * probe should ask, since restarting a node whose disk is full would not help.
 */
import { status as GrpcCode } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { inject, injectable } from 'inversify';
import { Logger } from '../../application/ports/logger.js';
import type { ReadinessGate } from '../../application/ports/readiness.js';
import { HealthCheckResponse_ServingStatus as ServingStatus } from '../../domain/wire/health.js';
import type { HealthCheckRequest, HealthCheckResponse } from '../../domain/wire/health.js';
import { OxiaClientCompatService, OxiaClientService } from '../grpc-protocol/service-definitions.js';
import { ServerCallTracker } from './server-call-tracker.js';
import { writeRespectingBackpressure } from './stream-writes.js';

export { ServingStatus };

/** The whole server ("") and the public API under both of its names. */
export const OVERALL_HEALTH_SERVICE = '';
/** Oxia's readiness probe service name, kept so Oxia deployments' probes work unchanged. */
export const READINESS_HEALTH_SERVICE = 'oxia-readiness';
/** SERVING from start to shutdown, whatever the storage says: for liveness probes. */
export const LIVENESS_HEALTH_SERVICE = 'oxia-liveness';
export const PUBLIC_HEALTH_SERVICES: readonly string[] = [
  OVERALL_HEALTH_SERVICE,
  READINESS_HEALTH_SERVICE,
  LIVENESS_HEALTH_SERVICE,
  serviceName(OxiaClientService.write.path),
  serviceName(OxiaClientCompatService.write.path),
];

/** '/pkg.Service/Method' -> 'pkg.Service' */
function serviceName(methodPath: string): string {
  return methodPath.split('/')[1] ?? '';
}

type Listener = (service: string, status: ServingStatus) => void;

@injectable()
export class HealthStatusBoard implements ReadinessGate {
  private readonly statuses = new Map<string, ServingStatus>(
    PUBLIC_HEALTH_SERVICES.map((s) => [s, ServingStatus.NOT_SERVING]),
  );
  private readonly listeners = new Set<Listener>();
  /** What bootstrap last set for readiness and the whole server; what is reported also waits for the conditions. */
  private readonly wanted = new Map<string, ServingStatus>([
    [READINESS_HEALTH_SERVICE, ServingStatus.NOT_SERVING],
    [OVERALL_HEALTH_SERVICE, ServingStatus.NOT_SERVING],
  ]);
  /** Unmet readiness conditions (one object per require(), so equal names do not collide). */
  private readonly unmet = new Set<{ readonly condition: string; readonly health: boolean }>();

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  set(service: string, status: ServingStatus): void {
    if (this.wanted.has(service)) {
      this.wanted.set(service, status);
      status = this.held(service) ? ServingStatus.NOT_SERVING : status;
    }
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const listener of [...this.listeners]) listener(service, status);
  }

  /** Sets every known service at once (startup done, shutdown begun). */
  setAll(status: ServingStatus): void {
    for (const service of [...this.statuses.keys()]) this.set(service, status);
  }

  require(condition: string): () => void {
    return this.hold({ condition, health: false });
  }

  requireForHealth(condition: string): () => void {
    return this.hold({ condition, health: true });
  }

  /** The readiness conditions not met yet, for logs and tests. */
  unmetReadinessConditions(): string[] {
    return [...this.unmet].map((u) => u.condition);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private hold(token: { readonly condition: string; readonly health: boolean }): () => void {
    this.unmet.add(token);
    this.refreshHeld();
    return () => {
      if (this.unmet.delete(token)) this.refreshHeld();
    };
  }

  private refreshHeld(): void {
    for (const [service, status] of this.wanted) this.set(service, status);
  }

  /** Whether an unmet condition holds `service` back. */
  private held(service: string): boolean {
    if (service === READINESS_HEALTH_SERVICE) return this.unmet.size > 0;
    return [...this.unmet].some((u) => u.health);
  }
}

@injectable()
export class HealthServiceHandlers {
  constructor(
    @inject(HealthStatusBoard) private readonly board: HealthStatusBoard,
    @inject(ServerCallTracker) private readonly calls: ServerCallTracker,
    @inject(Logger) private readonly logger: Logger,
  ) {}

  /** Handlers keyed like HealthService in service-definitions.ts. */
  implementation(): UntypedServiceImplementation {
    return {
      check: (call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: sendUnaryData<HealthCheckResponse>) =>
        this.check(call, callback),
      watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => void this.watch(call),
    };
  }

  private check(call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: sendUnaryData<HealthCheckResponse>): void {
    const status = this.board.get(call.request.service);
    if (status === undefined) {
      callback({ code: GrpcCode.NOT_FOUND, details: `unknown service '${call.request.service}'` });
      return;
    }
    callback(null, { status });
  }

  /**
   * Sends the current status, then each change, until the client cancels or the
   * server shuts down. Only the newest status matters to a watcher, so a slow
   * watcher gets changes coalesced instead of a growing queue.
   */
  private async watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>): Promise<void> {
    const tracked = this.calls.track(call);
    const service = call.request.service;
    let latest = this.board.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
    let sent: ServingStatus | undefined;
    let wake: (() => void) | undefined;
    const unsubscribe = this.board.subscribe((changed, status) => {
      if (changed !== service) return;
      latest = status;
      wake?.();
    });
    const onAbort = (): void => wake?.();
    tracked.signal.addEventListener('abort', onAbort);
    try {
      while (!tracked.signal.aborted) {
        if (sent !== latest) {
          sent = latest;
          await writeRespectingBackpressure(call, { status: sent }, tracked.signal);
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      // On shutdown the board already says NOT_SERVING; say it before ending the stream.
      if (tracked.reason() === 'shutdown') {
        latest = this.board.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
        if (sent !== latest) call.write({ status: latest });
        call.end();
      }
    } catch (error) {
      this.logger.warn('health watch failed', { error, service });
      call.end();
    } finally {
      unsubscribe();
      tracked.signal.removeEventListener('abort', onAbort);
      tracked.release();
    }
  }
}
