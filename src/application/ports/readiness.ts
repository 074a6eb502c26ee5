import type { ServiceIdentifier } from 'inversify';

/**
 * What must happen before this node reports itself ready to take traffic (the
 * `oxia-readiness` health service, which Kubernetes' readiness probe asks). Every
 * condition registered holds readiness back until it is met; liveness is not affected.
 */
export interface ReadinessGate {
  /** Holds readiness back until the returned function is called (calling it again does nothing). */
  require(condition: string): () => void;
  /**
   * Like require(), and it also holds back the whole node's health (service ""), which the
   * coordinator watches: a node with a shard that cannot write gives up its leaderships
   * (ADR 0029). Liveness (`oxia-liveness`) is not affected: a restart would not help.
   */
  requireForHealth(condition: string): () => void;
}
export const ReadinessGate: ServiceIdentifier<ReadinessGate> = Symbol.for('oxia.ReadinessGate');
