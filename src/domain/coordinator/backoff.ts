/**
 * Exponential backoff with jitter, shaped like Oxia's: the delay grows by `multiplier` from
 * `initialMs` up to `maxMs`, each delay randomised by ±`jitter` so that many shards retrying
 * after the same failure do not retry in lockstep. The one backoff formula of the project:
 * the coordinator's retry loops (elections, follower re-adds, assignment streams), a shard's
 * write probes, the client library's retries and reconnects (adapters/client/internal/backoff.ts)
 * and the Kubernetes watches all compute their delays here.
 */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly multiplier: number;
  readonly maxMs: number;
  /** 0 to 1: the delay is drawn from [d·(1-jitter), d·(1+jitter)]. */
  readonly jitter: number;
}

export const DEFAULT_RETRY_BACKOFF: BackoffPolicy = Object.freeze({ initialMs: 100, multiplier: 1.5, maxMs: 10_000, jitter: 0.5 });

/** The delay before retry number `attempt` (0 for the first retry); `random` is in [0, 1). */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: number): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, attempt));
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(base - spread + 2 * spread * random));
}
