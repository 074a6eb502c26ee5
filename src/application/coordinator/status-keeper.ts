import { emptyClusterStatus, type ClusterStatus, type StatusVersion } from '../../domain/cluster/cluster-status.js';
import { isStatusVersionConflict, StatusVersionConflict } from '../../domain/cluster/status-conflict.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { ClusterStatusStore } from '../ports/cluster-status-store.js';
import type { Logger } from '../ports/logger.js';

/** A change of the status: a function of the latest status (returning it unchanged means no write). */
export type StatusEdit = (status: ClusterStatus) => ClusterStatus;

interface Pending {
  readonly edit: StatusEdit | 'check';
  readonly resolve: (status: ClusterStatus) => void;
  readonly reject: (error: unknown) => void;
}

/** Edits waiting for the write in progress are bounded: more means something is badly stuck. */
const PENDING_EDITS_MAX = 100_000;

/**
 * The coordinator's one copy of the ClusterStatus and the version it was stored as.
 *
 * - Every change is an edit applied to the latest status and written with compare-and-set on
 *   the version this coordinator wrote last; the in-memory status changes only once the write
 *   succeeded, so what the coordinator acts on is always what is stored.
 * - Edits that arrive while a write is in flight are applied together and written once (one
 *   write for many shards electing at the same time).
 * - A version conflict means another coordinator wrote: the keeper is then lost for good,
 *   every pending and later edit fails with the conflict, and `onLost` is called once so the
 *   coordinator stops acting. It never retries with a fresher version: that would overwrite
 *   the other coordinator's decisions.
 */
export class StatusKeeper {
  private status: ClusterStatus = emptyClusterStatus();
  private version: StatusVersion | undefined;
  private pending: Pending[] = [];
  private flushing = false;
  private lostWith: StatusVersionConflict | undefined;
  private started = false;

  constructor(
    private readonly store: ClusterStatusStore,
    private readonly log: Logger,
    private readonly onLost: (conflict: StatusVersionConflict) => void,
  ) {}

  /**
   * Loads the stored status and claims it with a compare-and-set, so that of two coordinators
   * started together only one gets past this point; the other gets StatusVersionConflict
   * before it has told any node anything. The claim is also what fences a coordinator that
   * acted before this one: every successful write moves the version, so that coordinator's
   * next write, made against the version it knew, is refused. Which coordinator may claim at
   * all is the coordinator lease's business (ADR 0023).
   */
  async start(): Promise<{ readonly status: ClusterStatus; readonly existed: boolean }> {
    if (this.started) throw new Error('bug: StatusKeeper.start() called twice');
    this.started = true;
    const loaded = await this.store.load();
    const status = loaded?.status ?? emptyClusterStatus();
    const version = await this.store.store(status, loaded?.version);
    this.status = status;
    this.version = version;
    this.log.info('claimed the cluster status', { previousVersion: loaded?.version ?? 'none', version });
    return { status, existed: loaded !== undefined };
  }

  current(): ClusterStatus {
    return this.status;
  }

  get storedVersion(): StatusVersion | undefined {
    return this.version;
  }

  /** True once another writer was detected: nothing may be acted on any more. */
  get lost(): boolean {
    return this.lostWith !== undefined;
  }

  /** Applies `edit` to the latest status and persists it; resolves with the status as stored. */
  update(edit: StatusEdit): Promise<ClusterStatus> {
    return this.enqueue(edit);
  }

  /**
   * Re-reads the stored version: another writer since our last write is a conflict, found
   * now rather than at the next change. Runs between writes, never during one.
   */
  async checkOwnership(): Promise<void> {
    await this.enqueue('check');
  }

  private enqueue(edit: StatusEdit | 'check'): Promise<ClusterStatus> {
    if (this.lostWith) return Promise.reject(this.lostWith);
    if (!this.started) return Promise.reject(new Error('bug: StatusKeeper used before start()'));
    if (this.pending.length >= PENDING_EDITS_MAX) {
      return Promise.reject(new OxiaError('ResourceUnavailable', `${this.pending.length} cluster status changes are waiting to be written`));
    }
    return new Promise<ClusterStatus>((resolve, reject) => {
      this.pending.push({ edit, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        if (this.lostWith) {
          for (const p of batch) p.reject(this.lostWith);
          continue;
        }
        await this.writeBatch(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async writeBatch(batch: readonly Pending[]): Promise<void> {
    let next = this.status;
    const applied: Pending[] = [];
    const checks: Pending[] = [];
    for (const p of batch) {
      if (p.edit === 'check') {
        checks.push(p);
        continue;
      }
      try {
        next = p.edit(next);
        applied.push(p);
      } catch (e) {
        // An edit that cannot apply (e.g. a namespace that no longer fits) fails alone.
        p.reject(e);
      }
    }
    try {
      if (next !== this.status) {
        // The write's compare-and-set checks ownership too.
        const version = await this.store.store(next, this.version);
        this.status = next;
        this.version = version;
      } else if (checks.length > 0) {
        const stored = await this.store.load();
        if (stored?.version !== this.version) {
          throw new StatusVersionConflict(this.version, stored ? { version: stored.version } : 'absent', 'the status store (read back)');
        }
      }
      for (const p of [...applied, ...checks]) p.resolve(this.status);
    } catch (e) {
      if (isStatusVersionConflict(e)) this.lose(e);
      for (const p of [...applied, ...checks]) p.reject(e);
    }
  }

  private lose(conflict: StatusVersionConflict): void {
    if (this.lostWith) return;
    this.lostWith = conflict;
    this.log.error('another coordinator wrote the cluster status: this coordinator stops acting', { error: conflict.message });
    this.onLost(conflict);
  }
}
