import { majority } from './quorum.js';

/**
 * Read leases (ADR 0024). A leader serves reads from its own store, so a leader that froze
 * (SIGSTOP, a stalled VM) or was cut off, and resumed after a new leader took writes, would
 * answer with data that is no longer current. A lease prevents it:
 *
 * - the leader sends its followers probes, each carrying its own monotonic clock at sending;
 *   a follower answers each at once with the value (an echo);
 * - once a quorum (the leader counting for itself) has echoed probes sent at or after `s`, no
 *   other leader can serve until `s + leaseMs`: the leader serves reads only until then;
 * - a follower that receives a probe promises not to help any other leader serve for
 *   `followerWaitMs` from then: when it is fenced (NewTerm) it answers only once that is
 *   over. An election needs a quorum of NewTerm answers, which intersects the quorum that
 *   granted the old lease, so the new leader is chosen only after the old lease has run out;
 * - a node that restarts cannot remember what it received before: it treats its start as
 *   its last probe.
 *
 * The two sides measure on different clocks: the leader from sending, the follower from
 * receiving (later in real time), each on its own monotonic clock. `clockDriftBound` is the
 * largest relative difference of rate between two nodes' monotonic clocks that is tolerated:
 * the follower waits leaseMs * (1 + d) / (1 - d) of its own time, which is at least leaseMs
 * of the leader's time as long as their rates differ by less than d.
 *
 * Everything here is pure: times are passed in.
 */
export interface ReadLeaseTiming {
  /** How long after sending a probe a quorum's echo of it lets the leader serve reads. */
  readonly leaseMs: number;
  /** How often a leader probes each follower (piggybacked on entries while it sends any). */
  readonly probeIntervalMs: number;
  /** Tolerated relative difference of rate between two nodes' monotonic clocks. */
  readonly clockDriftBound: number;
}

/**
 * Defaults: the coordinator declares a node down after it left a probe unanswered for 1.2 s,
 * so a frozen leader's lease (its last probe plus 700 ms, followers waiting 715 ms) is over
 * before the election fences anyone, and costs that failover nothing. 1% drift is twenty times
 * the 500 ppm by which NTP may slew a clock.
 */
export const READ_LEASE_TIMING: ReadLeaseTiming = Object.freeze({ leaseMs: 700, probeIntervalMs: 100, clockDriftBound: 0.01 });

/** How long a follower must wait after receiving a probe before it may answer a NewTerm (whole ms, rounded up). */
export function followerWaitMs(timing: ReadLeaseTiming): number {
  const d = timing.clockDriftBound;
  return Math.ceil((timing.leaseMs * (1 + d)) / (1 - d));
}

/** The follower's promise after receiving a probe at `receivedAtMs` (its clock): it holds until the returned time. */
export function promiseAfterProbe(untilMs: number, receivedAtMs: number, timing: ReadLeaseTiming): number {
  return Math.max(untilMs, receivedAtMs + followerWaitMs(timing));
}

/** How long a fenced follower must still wait before answering NewTerm. */
export function promiseRemainingMs(untilMs: number, nowMs: number): number {
  return Math.max(0, untilMs - nowMs);
}

/**
 * The start of the leader's lease: the newest time `s` such that a quorum of the replicas
 * (the leader itself, always current, and its followers' newest echoes) vouched for it.
 * +Infinity when the leader is the whole quorum (replication factor 1: no other replica can
 * ever lead at a newer term without this one being fenced), -Infinity when too few followers
 * have echoed anything.
 */
export function quorumLeaseStart(echoes: Iterable<number>, replicationFactor: number): number {
  const needed = majority(replicationFactor) - 1;
  if (needed <= 0) return Infinity;
  const newestFirst = [...echoes].sort((a, b) => b - a);
  return newestFirst[needed - 1] ?? -Infinity;
}

/** When the lease of a leader whose quorum vouched for `startMs` ends (its clock). */
export function leaseExpiresAt(startMs: number, timing: ReadLeaseTiming): number {
  return startMs + timing.leaseMs;
}
