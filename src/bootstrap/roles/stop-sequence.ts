/**
 * How a role stops: its stop steps in the order they must run, each set once the part it
 * stops exists. A start that fails halfway runs the steps set so far, so it closes exactly
 * what it opened; a graceful stop runs them all. A step that fails is logged and the rest
 * still run: one broken part must not keep the others open.
 */
import type { PinoLogger } from '../../adapters/logging/pino-logger.js';
import { ServingStatus } from '../../adapters/grpc/health-service.js';
import type { HealthStatusBoard } from '../../adapters/grpc/health-service.js';
import type { GrpcServer } from '../../adapters/grpc/grpc-server.js';

export class StopSequence<Step extends string> {
  private readonly runs = new Map<Step, () => Promise<void>>();
  private closing: Promise<void> | undefined;

  /** `order`: every step of the role, first to stop first. */
  constructor(
    private readonly logger: PinoLogger,
    private readonly order: readonly Step[],
  ) {}

  /** What stops `step`; runs at most once. */
  set(step: Step, run: () => Promise<void>): void {
    this.runs.set(step, run);
  }

  /** Runs the steps set so far, in stop order. */
  async unwind(): Promise<void> {
    for (const step of this.order) {
      const run = this.runs.get(step);
      if (!run) continue;
      this.runs.delete(step);
      try {
        await run();
      } catch (error) {
        this.logger.error('error while stopping', { step, error });
      }
    }
  }

  /** The running role's graceful stop, logged; idempotent (every call gets the same promise). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.logger.info('stopping');
      await this.unwind();
      this.logger.info('stopped');
      this.logger.flush();
    })();
    return this.closing;
  }
}

/** The first stop step of a role that serves gRPC: probes see NOT_SERVING, then the servers refuse new calls, end streams and drain. */
export function stopServing(health: HealthStatusBoard, servers: readonly GrpcServer[]): () => Promise<void> {
  return async () => {
    health.setAll(ServingStatus.NOT_SERVING);
    await Promise.all(servers.map((server) => server.close()));
  };
}
