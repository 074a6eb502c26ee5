import { leaseExpiresAt, quorumLeaseStart, type ReadLeaseTiming } from '../../domain/replication/read-lease.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { Clock } from '../ports/clock.js';
import { Broadcast } from './broadcast.js';

/**
 * A leader's read lease (domain/replication/read-lease.ts): followers' echoes of its probes
 * come in from the replication cursors; reads ask whether it holds, and wait a little for a
 * renewal when it has lapsed. With a replication factor of 1 it always holds: no other
 * replica can lead, and a new term fences this one first.
 */
export class ReadLease {
  /** Follower name -> the send time of the newest probe it echoed (this node's clock). */
  private readonly echoes = new Map<string, number>();
  private expiresAtMs: number;
  private ended: OxiaError | undefined;
  private readonly renewed = new Broadcast();

  constructor(
    private readonly replicationFactor: number,
    private readonly timing: ReadLeaseTiming,
    private readonly clock: Clock,
  ) {
    this.expiresAtMs = leaseExpiresAt(quorumLeaseStart([], replicationFactor), timing);
  }

  /** Whether reads may be served now. */
  holds(): boolean {
    return this.expiresAtMs === Infinity || this.clock.monotonicMs() < this.expiresAtMs;
  }

  /** A follower echoed the probe this leader sent at `sentAtMs`. */
  onEcho(follower: string, sentAtMs: number): void {
    if (this.ended) return;
    // An echo can only name a time that has passed; anything else is not to be trusted.
    if (!(sentAtMs <= this.clock.monotonicMs()) || sentAtMs <= (this.echoes.get(follower) ?? -Infinity)) return;
    this.echoes.set(follower, sentAtMs);
    const expiresAtMs = leaseExpiresAt(quorumLeaseStart(this.echoes.values(), this.replicationFactor), this.timing);
    if (expiresAtMs > this.expiresAtMs) {
      this.expiresAtMs = expiresAtMs;
      this.renewed.notify();
    }
  }

  /**
   * Resolves once the lease holds; rejects with NodeIsNotLeader when it does not within
   * `maxWaitMs` (no quorum answers: this leader was probably replaced) or once leadership ended.
   */
  async awaitHeld(maxWaitMs: number, signal: AbortSignal, shard: bigint): Promise<void> {
    const deadline = this.clock.monotonicMs() + maxWaitMs;
    const timeout = new AbortController();
    const cancelTimer = this.clock.schedule(maxWaitMs, () => timeout.abort());
    const onAbort = (): void => timeout.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (this.ended) throw this.ended;
        if (this.holds()) return;
        if (signal.aborted) throw new OxiaError('Aborted', 'the read was abandoned while waiting for the read lease');
        if (timeout.signal.aborted || this.clock.monotonicMs() >= deadline) {
          throw new OxiaError(
            'NodeIsNotLeader',
            `shard ${shard}: this node cannot serve reads, no quorum of its replicas confirmed its leadership in the last ${this.timing.leaseMs} ms`,
          );
        }
        await this.renewed.wait(timeout.signal);
      }
    } finally {
      cancelTimer();
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Leadership is over: the lease never holds again and waiting readers fail with `error`. */
  end(error: OxiaError): void {
    this.ended ??= error;
    this.expiresAtMs = -Infinity;
    this.renewed.notify();
  }
}
