import { backoffDelayMs, type BackoffPolicy } from '../../domain/coordinator/backoff.js';
import type { OxiaError } from '../../domain/errors/oxia-error.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { ReadinessGate } from '../ports/readiness.js';
import type { ShardRef } from '../ports/shard-ref.js';
import type { StorageProbe } from '../ports/storage-probe.js';
import type { ShardMetrics, StorageFailureReason } from './shard-metrics.js';

/** Between write probes of a shard that cannot write: soon at first, then every few seconds. */
export const WRITE_PROBE_BACKOFF: BackoffPolicy = Object.freeze({ initialMs: 100, multiplier: 2, maxMs: 5_000, jitter: 0.2 });

export interface WriteRecoveryDeps {
  readonly probe: StorageProbe;
  readonly clock: Clock;
  readonly log: Logger;
  readonly readiness: ReadinessGate;
  readonly metrics: ShardMetrics;
  readonly random?: () => number;
}

/** What the shard does when it stops writing, and to take writes again. */
export interface WriteRecoveryActions {
  /** Stop taking writes (and step down from leading): pending writes fail with `cause`. */
  stopWriting(cause: OxiaError): Promise<void>;
  /**
   * Close the log and store and open them again from disk, recovering as at start (the store
   * replays the log), so that nothing half-written stays in memory. Throws when it cannot.
   */
  reopen(): Promise<void>;
}

/**
 * A shard's "cannot write" state (ADR 0029). Entered when its log or store fails a write on
 * a full disk or an I/O error, or when free space falls below the threshold: writes are
 * refused with the cause, the node is not ready (and, for the coordinator, not healthy)
 * meanwhile, a metric and a log line name the shard and the reason. A write probe then runs
 * with backoff; once it passes, the log and store are reopened and the shard writes again.
 */
export class WriteRecovery {
  private failure: OxiaError | undefined;
  private since = 0;
  private attempt = 0;
  private release: (() => void) | undefined;
  private cancelProbe: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly ref: ShardRef,
    private readonly deps: WriteRecoveryDeps,
    private readonly actions: WriteRecoveryActions,
  ) {}

  /** Why the shard cannot write now; undefined while it can. */
  get cause(): OxiaError | undefined {
    return this.failure;
  }

  /** The shard cannot write because of `cause`; does nothing while it is already recovering. */
  enter(cause: OxiaError): void {
    if (this.closed || this.failure) return;
    this.failure = cause;
    this.since = this.deps.clock.monotonicMs();
    this.attempt = 0;
    this.release = this.deps.readiness.requireForHealth(`shard ${this.ref.namespace}/${this.ref.shard} can write`);
    this.deps.metrics.storageUnwritable(reasonOf(cause), true);
    this.deps.log.error('shard cannot write: refusing writes until its storage takes them again', {
      reason: reasonOf(cause),
      cause: cause.message,
    });
    void this.actions.stopWriting(cause).then(
      () => this.scheduleProbe(),
      (e: unknown) => {
        this.deps.log.warn('stopping writes after a storage failure failed', { error: String(e) });
        this.scheduleProbe();
      },
    );
  }

  /** The shard is closing or deleted: no more probes, readiness no longer held. */
  close(): void {
    this.closed = true;
    this.cancelProbe?.();
    this.release?.();
    if (this.failure) this.deps.metrics.storageUnwritable(undefined);
  }

  private scheduleProbe(): void {
    if (this.closed) return;
    const delayMs = backoffDelayMs(WRITE_PROBE_BACKOFF, this.attempt++, (this.deps.random ?? Math.random)());
    this.cancelProbe = this.deps.clock.schedule(delayMs, () => void this.probe());
  }

  private async probe(): Promise<void> {
    if (this.closed || !this.failure) return;
    const still = await this.deps.probe.probeWrite();
    if (this.closed) return;
    if (still) {
      if (reasonOf(still) !== reasonOf(this.failure)) this.deps.metrics.storageUnwritable(reasonOf(still));
      this.failure = still;
      this.scheduleProbe();
      return;
    }
    try {
      await this.actions.reopen();
    } catch (e) {
      if (this.closed) return;
      this.deps.log.warn('the storage took a write probe, but reopening the log and store failed; probing again', { error: String(e) });
      this.scheduleProbe();
      return;
    }
    if (this.closed) return;
    const unwritableMs = Math.round(this.deps.clock.monotonicMs() - this.since);
    this.failure = undefined;
    this.release?.();
    this.release = undefined;
    this.deps.metrics.storageUnwritable(undefined);
    this.deps.log.info('shard writes again: log and store reopened', { unwritableMs });
  }
}

function reasonOf(cause: OxiaError): StorageFailureReason {
  return cause.kind === 'DiskFull' ? 'disk_full' : 'io_error';
}
