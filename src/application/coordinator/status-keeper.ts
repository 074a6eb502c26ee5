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
   * before it has told any node anything.
   *
   * A status that already exists may belong to a coordinator that is still running: a running
   * coordinator rewrites it at least every ownership check (the heartbeat). So before claiming
   * an existing status, wait `takeoverWaitMs` (longer than two heartbeats) and read it again:
   * if it changed meanwhile, the incumbent is alive and this one gives up with a conflict;
   * only a status nobody has written for that long is taken over. The incumbent always wins.
   */
  async start(takeover: {
    readonly takeoverWaitMs: number;
    readonly pause: (ms: number) => Promise<void>;
  }): Promise<{ readonly status: ClusterStatus; readonly existed: boolean }> {
    if (this.started) throw new Error('bug: StatusKeeper.start() called twice');
    this.started = true;
    let loaded = await this.store.load();
    if (loaded !== undefined && takeover.takeoverWaitMs > 0) {
      this.log.info('a cluster status exists: making sure no other coordinator is keeping it', {
        version: loaded.version,
        waitMs: takeover.takeoverWaitMs,
      });
      await takeover.pause(takeover.takeoverWaitMs);
      const again = await this.store.load();
      if (again?.version !== loaded.version) {
        throw new StatusVersionConflict(loaded.version, again ? { version: again.version } : 'absent', 'the status store (another coordinator is active)');
      }
      loaded = again;
    }
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
   * The heartbeat: rewrites the status (compare-and-set on our last version). Another writer
   * since our last write is a conflict; a newcomer watching the version sees that we are alive.
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
      // A heartbeat alone still writes (the unchanged status), so that the version moves.
      if (next !== this.status || checks.length > 0) {
        const version = await this.store.store(next, this.version);
        this.status = next;
        this.version = version;
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
