/**
 * How the coordinator decides that a storage node is down or back, from what its gRPC health
 * service says, as Oxia's data server controller does:
 *
 * - a node starts NotRunning and is Running from its first SERVING answer;
 * - a NOT_SERVING answer (the node is shutting down) takes it down at once;
 * - periodic probes tolerate slowness: only `failureThreshold` consecutive failed probes take
 *   it down, so a saturated node is not fenced (which would move its load to the next node
 *   and saturate that one);
 * - when the health watch stream breaks, one probe is sent right away: if the node is
 *   unreachable (connection refused: the process is gone) it is down at once, which is what
 *   makes failover fast after a crash; if the probe only times out, the periodic probes decide.
 *
 * Each change of status bumps an epoch; an observation made under an older epoch (a probe
 * that was in flight while the status changed) is stale and ignored, so late answers cannot
 * flap the status back.
 */
export type NodeRunState = 'NotRunning' | 'Running';

export interface NodeHealth {
  readonly state: NodeRunState;
  /** Consecutive failed periodic probes. */
  readonly failures: number;
  readonly epoch: number;
}

/** What a health call came back with. `unreachable`: no connection could be made at all. */
export type HealthObservation = 'serving' | 'not-serving' | 'unreachable' | 'timeout' | 'failed';

/** periodic: the regular probe; watch: a message on the watch stream; watch-broken: the probe sent when the watch stream broke. */
export type HealthSource = 'periodic' | 'watch' | 'watch-broken';

export type HealthEvent = 'available' | 'unavailable';

export const INITIAL_NODE_HEALTH: NodeHealth = Object.freeze({ state: 'NotRunning', failures: 0, epoch: 0 });

export function observeHealth(
  health: NodeHealth,
  observedEpoch: number,
  observation: HealthObservation,
  source: HealthSource,
  failureThreshold: number,
): { readonly health: NodeHealth; readonly event?: HealthEvent } {
  if (observedEpoch !== health.epoch) return { health };
  switch (observation) {
    case 'serving':
      if (health.state === 'Running') return { health: health.failures === 0 ? health : { ...health, failures: 0 } };
      return { health: { state: 'Running', failures: 0, epoch: health.epoch + 1 }, event: 'available' };
    case 'not-serving':
      return down(health);
    case 'unreachable':
    case 'timeout':
    case 'failed': {
      if (source === 'watch-broken') return observation === 'unreachable' ? down(health) : { health };
      if (source === 'watch') return { health };
      const failures = health.failures + 1;
      if (failures >= failureThreshold && health.state === 'Running') return down(health);
      return { health: { ...health, failures } };
    }
  }
}

function down(health: NodeHealth): { health: NodeHealth; event?: HealthEvent } {
  if (health.state !== 'Running') return { health: health.failures === 0 ? health : { ...health, failures: 0 } };
  return { health: { state: 'NotRunning', failures: 0, epoch: health.epoch + 1 }, event: 'unavailable' };
}
