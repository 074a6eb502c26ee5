import type { ServiceIdentifier } from 'inversify';
import { DEFAULT_RETRY_BACKOFF, type BackoffPolicy } from '../../domain/coordinator/backoff.js';

/** How the coordinator paces itself. Defaults follow Oxia's coordinator where it has one. */
export interface CoordinatorSettings {
  /** Period of the health probe of each node; probes overlap (Oxia: 2 s, one at a time). */
  readonly healthCheckIntervalMs: number;
  /**
   * A node that leaves a probe unanswered this long, having answered none sent after it, is
   * down (domain/coordinator/node-health.ts, ADR 0024). Oxia: 5 s, and 3 such probes in a row.
   */
  readonly healthCheckTimeoutMs: number;
  /** Consecutive probes failing with an error (refused, reset) after which a node is down (Oxia: 3). */
  readonly healthCheckFailureThreshold: number;
  /** After a NewTerm majority, how long to wait for the other members' answers (Oxia: 100 ms). */
  readonly fencingGracePeriodMs: number;
  /** Between failed election attempts. */
  readonly electionRetry: BackoffPolicy;
  /** Between attempts to fence and add a member that missed an election (Oxia starts at 1 s). */
  readonly followerRetry: BackoffPolicy;
  /** Between reconnections of the health watch and the assignments stream of a node. */
  readonly streamRetry: BackoffPolicy;
  /**
   * How often the coordinator re-reads the stored status version to make sure no other
   * coordinator has written it since; if one has, this one stops acting. With the coordinator
   * lease this only catches writers outside the lease (ADR 0023); the compare-and-set of every
   * write would catch them at the next change anyway.
   */
  readonly ownershipCheckIntervalMs: number;
  /**
   * How long a node that came back from a failure must stay up before leaders are moved back
   * to it (Oxia: 5 min), so that a flapping node does not pull leaders around.
   */
  readonly leaderRebalanceStableMs: number;
  /**
   * How long a split may take to reach its commit (ADR 0025) before it is rolled back: the
   * children dropped, the parent elected anew, hence unfrozen (Oxia: 5 min, from the start of
   * the split controller).
   */
  readonly splitTimeoutMs: number;
}
export const CoordinatorSettings: ServiceIdentifier<CoordinatorSettings> = Symbol.for('oxia.CoordinatorSettings');

export const DEFAULT_COORDINATOR_SETTINGS: CoordinatorSettings = Object.freeze({
  healthCheckIntervalMs: 200,
  healthCheckTimeoutMs: 1_200,
  healthCheckFailureThreshold: 3,
  fencingGracePeriodMs: 100,
  electionRetry: DEFAULT_RETRY_BACKOFF,
  followerRetry: Object.freeze({ initialMs: 1_000, multiplier: 1.5, maxMs: 10_000, jitter: 0.5 }),
  streamRetry: Object.freeze({ initialMs: 250, multiplier: 2, maxMs: 5_000, jitter: 0.3 }),
  ownershipCheckIntervalMs: 5_000,
  leaderRebalanceStableMs: 300_000,
  splitTimeoutMs: 300_000,
});
