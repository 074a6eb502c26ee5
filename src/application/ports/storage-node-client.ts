import type { ServiceIdentifier } from 'inversify';
import type { NodeAddress } from '../../domain/cluster/node-address.js';
import type { HealthObservation } from '../../domain/coordinator/node-health.js';
import type { ShardAssignments } from '../../domain/wire/client.js';
import type {
  AddFollowerRequest,
  BecomeLeaderRequest,
  DeleteShardRequest,
  FreezeShardRequest,
  FreezeShardResponse,
  GetStatusRequest,
  GetStatusResponse,
  NewTermRequest,
  NewTermResponse,
  RemoveObserverRequest,
} from '../../domain/wire/replication.js';

/**
 * How the coordinator talks to storage nodes: Oxia's OxiaCoordination service and the gRPC
 * health service, on each node's INTERNAL address. Requests and responses are Oxia's
 * messages (domain/wire/replication.ts), so the coordinator drives nodes exactly as Oxia's
 * coordinator does.
 *
 * Every call is bounded by the adapter's RPC timeout and can be abandoned through `signal`.
 * Failures reject with an OxiaError whose kind says what the node answered (InvalidTerm,
 * NodeIsNotMember, ...); a node that cannot be reached, or does not answer in time, is
 * ResourceUnavailable; an abandoned call is Aborted.
 */
export interface StorageNodeClient {
  newTerm(node: NodeAddress, request: NewTermRequest, signal?: AbortSignal): Promise<NewTermResponse>;
  becomeLeader(node: NodeAddress, request: BecomeLeaderRequest, signal?: AbortSignal): Promise<void>;
  addFollower(node: NodeAddress, request: AddFollowerRequest, signal?: AbortSignal): Promise<void>;
  getStatus(node: NodeAddress, request: GetStatusRequest, signal?: AbortSignal): Promise<GetStatusResponse>;
  deleteShard(node: NodeAddress, request: DeleteShardRequest, signal?: AbortSignal): Promise<void>;
  /** FreezeShard (shard splits, ADR 0025): resolves with the frozen leader's final head offset. */
  freezeShard(node: NodeAddress, request: FreezeShardRequest, signal?: AbortSignal): Promise<FreezeShardResponse>;
  /** AddFollower with observer set: copies a shard's part, so it has its own (longer) deadline. */
  addObserver(node: NodeAddress, request: AddFollowerRequest, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** RemoveObserver: the parent's leader stops a split copy (idempotent). */
  removeObserver(node: NodeAddress, request: RemoveObserverRequest, signal?: AbortSignal): Promise<void>;

  /** One grpc.health.v1 Check of the whole node (service ""), within `timeoutMs`. Never rejects. */
  checkHealth(node: NodeAddress, timeoutMs: number, signal?: AbortSignal): Promise<HealthObservation>;
  /**
   * A grpc.health.v1 Watch of the whole node: `onStatus` gets each answer ('serving' or
   * 'not-serving'), `onEnd` is called once when the stream ends for any reason other than
   * cancel(). Never throws.
   */
  watchHealth(node: NodeAddress, listener: HealthWatchListener): HealthWatch;

  /**
   * Opens Oxia's PushShardAssignments stream to a node. `onEnd` is called once when the
   * stream ends for any reason other than close() (the node restarted, refused it, ...);
   * the caller opens a new one.
   */
  pushAssignments(node: NodeAddress, onEnd: (error: Error) => void): AssignmentsStream;

  /** Drops the connection to a node the coordinator no longer deals with. */
  forget(node: NodeAddress): void;
  close(): Promise<void>;
}
export const StorageNodeClient: ServiceIdentifier<StorageNodeClient> = Symbol.for('oxia.StorageNodeClient');

export interface HealthWatchListener {
  onStatus(observation: 'serving' | 'not-serving'): void;
  onEnd(): void;
}

export interface HealthWatch {
  cancel(): void;
}

export interface AssignmentsStream {
  /** Queues the message; false when the stream has already ended. */
  send(assignments: ShardAssignments): boolean;
  close(): void;
}
