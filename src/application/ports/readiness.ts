import type { ServiceIdentifier } from 'inversify';

/**
 * What must happen before this node reports itself ready to take traffic (the
 * `oxia-readiness` health service, which Kubernetes' readiness probe asks). Every
 * condition registered holds readiness back until it is met; liveness is not affected.
 */
export interface ReadinessGate {
  /** Holds readiness back until the returned function is called (calling it again does nothing). */
  require(condition: string): () => void;
}
export const ReadinessGate: ServiceIdentifier<ReadinessGate> = Symbol.for('oxia.ReadinessGate');
