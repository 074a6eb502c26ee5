import type { NodeAddress } from '../../domain/cluster/node-address.js';
import type { ClusterStatus, StatusVersion } from '../../domain/cluster/cluster-status.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { ClusterStatusStore, VersionedClusterStatus } from '../ports/cluster-status-store.js';
import type { Logger } from '../ports/logger.js';
import type {
  AssignmentsStream,
  HealthWatch,
  HealthWatchListener,
  StorageNodeClient,
} from '../ports/storage-node-client.js';
import type { HealthObservation } from '../../domain/coordinator/node-health.js';
import type {
  AddFollowerRequest,
  BecomeLeaderRequest,
  DeleteShardRequest,
  FreezeShardRequest,
  RemoveObserverRequest,
  FreezeShardResponse,
  GetStatusRequest,
  GetStatusResponse,
  NewTermRequest,
  NewTermResponse,
} from '../../domain/wire/replication.js';
import type { ShardAssignments } from '../../domain/wire/client.js';

/**
 * The in-process half of fencing a deposed coordinator (the status store's compare-and-set is
 * the other half): the ports a coordinator acts through, wrapped so that nothing that changes
 * a storage node or the cluster status leaves the process unless `mayAct()` says that this
 * leadership still holds the lease at that very moment. Reads (GetStatus, health checks, loading
 * the status) go through: they change nothing.
 *
 * A refusal is OxiaError 'Closed', which the coordinator's controllers treat as "stop", never
 * as a reason to retry.
 */
export class LeaseFence {
  private refusals = 0;

  constructor(
    readonly mayAct: () => boolean,
    private readonly log: Logger,
  ) {}

  /** How many actions were refused (for tests and diagnostics). */
  get refused(): number {
    return this.refusals;
  }

  check(what: string): void {
    if (this.mayAct()) return;
    if (this.refusals++ === 0) this.log.warn('refusing to act: this coordinator no longer holds the coordinator lease', { refused: what });
    throw new OxiaError('Closed', `${what} refused: this coordinator no longer holds the coordinator lease`);
  }

  /** A promise-returning action behind the fence (a refusal is a rejected promise, never a throw). */
  guard<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      this.check(what);
    } catch (e) {
      return Promise.reject(e);
    }
    return action();
  }
}

/**
 * The storage node client of one leadership: NewTerm, BecomeLeader, AddFollower (and as an
 * observer), DeleteShard, FreezeShard and assignments only while it holds the lease.
 */
export class FencedStorageNodeClient implements StorageNodeClient {
  constructor(
    private readonly inner: StorageNodeClient,
    private readonly fence: LeaseFence,
  ) {}

  newTerm(node: NodeAddress, request: NewTermRequest, signal?: AbortSignal): Promise<NewTermResponse> {
    return this.fence.guard('NewTerm', () => this.inner.newTerm(node, request, signal));
  }

  becomeLeader(node: NodeAddress, request: BecomeLeaderRequest, signal?: AbortSignal): Promise<void> {
    return this.fence.guard('BecomeLeader', () => this.inner.becomeLeader(node, request, signal));
  }

  addFollower(node: NodeAddress, request: AddFollowerRequest, signal?: AbortSignal): Promise<void> {
    return this.fence.guard('AddFollower', () => this.inner.addFollower(node, request, signal));
  }

  deleteShard(node: NodeAddress, request: DeleteShardRequest, signal?: AbortSignal): Promise<void> {
    return this.fence.guard('DeleteShard', () => this.inner.deleteShard(node, request, signal));
  }

  removeObserver(node: NodeAddress, request: RemoveObserverRequest, signal?: AbortSignal): Promise<void> {
    return this.fence.guard('RemoveObserver', () => this.inner.removeObserver(node, request, signal));
  }

  freezeShard(node: NodeAddress, request: FreezeShardRequest, signal?: AbortSignal): Promise<FreezeShardResponse> {
    return this.fence.guard('FreezeShard', () => this.inner.freezeShard(node, request, signal));
  }

  addObserver(node: NodeAddress, request: AddFollowerRequest, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.fence.guard('AddFollower (observer)', () => this.inner.addObserver(node, request, timeoutMs, signal));
  }

  getStatus(node: NodeAddress, request: GetStatusRequest, signal?: AbortSignal): Promise<GetStatusResponse> {
    return this.inner.getStatus(node, request, signal);
  }

  checkHealth(node: NodeAddress, timeoutMs: number, signal?: AbortSignal): Promise<HealthObservation> {
    return this.inner.checkHealth(node, timeoutMs, signal);
  }

  watchHealth(node: NodeAddress, listener: HealthWatchListener): HealthWatch {
    return this.inner.watchHealth(node, listener);
  }

  pushAssignments(node: NodeAddress, onEnd: (error: Error) => void): AssignmentsStream {
    const stream = this.inner.pushAssignments(node, onEnd);
    return {
      send: (assignments: ShardAssignments) => {
        try {
          this.fence.check('PushShardAssignments');
        } catch {
          return false;
        }
        return stream.send(assignments);
      },
      close: () => stream.close(),
    };
  }

  forget(node: NodeAddress): void {
    this.inner.forget(node);
  }

  /** The client is shared by the process's leaderships: one leadership ending does not close it. */
  async close(): Promise<void> {}
}

/** The status store of one leadership: written only while it holds the lease. */
export class FencedStatusStore implements ClusterStatusStore {
  constructor(
    private readonly inner: ClusterStatusStore,
    private readonly fence: LeaseFence,
  ) {}

  load(): Promise<VersionedClusterStatus | undefined> {
    return this.inner.load();
  }

  store(status: ClusterStatus, expectedVersion: StatusVersion | undefined): Promise<StatusVersion> {
    return this.fence.guard('writing the cluster status', () => this.inner.store(status, expectedVersion));
  }

  /** Shared with the process's other leaderships. */
  async close(): Promise<void> {}
}
