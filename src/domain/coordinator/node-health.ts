/**
 * How the coordinator decides that a storage node is down or back, from what its gRPC health
 * service says:
 *
 * - a node starts NotRunning and is Running from its first SERVING answer;
 * - a NOT_SERVING answer (the node is shutting down) takes it down at once;
 * - timeouts: probes go out every interval without waiting for earlier ones, and a Running
 *   node is down once a probe sent after the newest one it answered has gone unanswered for
 *   `timeoutMs` (nodeSilent). A frozen process (SIGSTOP, a stuck VM) keeps its connections
 *   open and never refuses anything; this is what finds it, within the timeout plus one
 *   interval. A node whose event loop is held up (by load) for less than the timeout is not
 *   fenced (which would move its load to the next node and stall that one). Counting from a
 *   probe that was actually sent, rather than from the last answer, keeps a coordinator that
 *   was itself held up (and sent nothing meanwhile) from blaming the node for its own delay;
 * - probes that fail with an error (connection refused or reset) count: `failureThreshold` in
 *   a row take a Running node down, before the silence would;
 * - when the health watch stream breaks, one probe is sent right away: if the node is
 *   unreachable (connection refused: the process is gone) it is down at once, which is what
 *   makes failover fast after a crash; if the probe only times out, silence decides.
 *
 * Each change of status bumps an epoch; an observation made under an older epoch (a probe
 * that was in flight while the status changed) is stale and ignored, so late answers cannot
 * flap the status back.
 *
 * Times are the coordinator's monotonic milliseconds; nothing here reads a clock.
 */
export type NodeRunState = 'NotRunning' | 'Running';

export interface NodeHealth {
  readonly state: NodeRunState;
  /** Consecutive probes that failed with an error (timeouts are left to the silence rule). */
  readonly failures: number;
  readonly epoch: number;
  /** When the newest probe answered SERVING was sent (or a watch message arrived); -Infinity before any. */
  readonly answeredSentMs: number;
}

/** What a health call came back with. `unreachable`: no connection could be made at all. */
export type HealthObservation = 'serving' | 'not-serving' | 'unreachable' | 'timeout' | 'failed';

/** periodic: the regular probe; watch: a message on the watch stream; watch-broken: the probe sent when the watch stream broke. */
export type HealthSource = 'periodic' | 'watch' | 'watch-broken';

export type HealthEvent = 'available' | 'unavailable';

/** Why a node was taken down, for logs and metrics. */
export type DownReason = 'not-serving' | 'unreachable' | 'failures' | 'silent';

export interface HealthDecision {
  readonly health: NodeHealth;
  readonly event?: HealthEvent;
  readonly reason?: DownReason;
}

export const INITIAL_NODE_HEALTH: NodeHealth = Object.freeze({ state: 'NotRunning', failures: 0, epoch: 0, answeredSentMs: -Infinity });

/**
 * One health answer. `sentMs`: when the probe was sent (for a watch message, when it arrived),
 * which is what an answer proves: the node was alive after that moment.
 */
export function observeHealth(
  health: NodeHealth,
  observedEpoch: number,
  observation: HealthObservation,
  source: HealthSource,
  failureThreshold: number,
  sentMs: number,
): HealthDecision {
  if (observedEpoch !== health.epoch) return { health };
  switch (observation) {
    case 'serving': {
      const answeredSentMs = Math.max(health.answeredSentMs, sentMs);
      if (health.state === 'Running') {
        return health.failures === 0 && answeredSentMs === health.answeredSentMs ? { health } : { health: { ...health, failures: 0, answeredSentMs } };
      }
      return { health: { state: 'Running', failures: 0, epoch: health.epoch + 1, answeredSentMs }, event: 'available' };
    }
    case 'not-serving':
      return down(health, 'not-serving');
    case 'timeout':
      return { health };
    case 'unreachable':
    case 'failed': {
      if (source === 'watch-broken') return observation === 'unreachable' ? down(health, 'unreachable') : { health };
      if (source === 'watch') return { health };
      const failures = health.failures + 1;
      if (failures >= failureThreshold && health.state === 'Running') return down(health, 'failures');
      return { health: { ...health, failures } };
    }
  }
}

/**
 * Whether a Running node has been silent too long at `nowMs`: `oldestUnansweredSentMs`, the
 * oldest probe still outstanding among those sent after the newest answered one (undefined
 * when there is none), has waited `timeoutMs`. Callers evaluate it only after the answers
 * already received have been processed (a coordinator that was itself stalled must not blame
 * the node for answers it has not read yet).
 */
export function nodeSilent(health: NodeHealth, nowMs: number, oldestUnansweredSentMs: number | undefined, timeoutMs: number): HealthDecision {
  if (health.state !== 'Running' || oldestUnansweredSentMs === undefined || oldestUnansweredSentMs <= health.answeredSentMs) return { health };
  if (nowMs - oldestUnansweredSentMs < timeoutMs) return { health };
  return down(health, 'silent');
}

function down(health: NodeHealth, reason: DownReason): HealthDecision {
  if (health.state !== 'Running') return { health: health.failures === 0 ? health : { ...health, failures: 0 } };
  return { health: { state: 'NotRunning', failures: 0, epoch: health.epoch + 1, answeredSentMs: health.answeredSentMs }, event: 'unavailable', reason };
}
