import type { ServiceIdentifier } from 'inversify';
import type { ShardAssignments } from '../../domain/wire/client.js';
import type {
  AddFollowerRequest,
  BecomeLeaderRequest,
  DeleteShardRequest,
  FreezeShardRequest,
  FreezeShardResponse,
  GetInfoResponse,
  GetStatusRequest,
  GetStatusResponse,
  HandshakeRequest,
  HandshakeResponse,
  NewTermRequest,
  NewTermResponse,
  RemoveObserverRequest,
  TruncateRequest,
  TruncateResponse,
} from '../../domain/wire/replication.js';
import type { AckSender, AppendMessage, ReplicationTarget, SnapshotChunkMessage } from '../ports/replication-client.js';

/**
 * The coordinator's view of a storage node (Oxia's OxiaCoordination service) as a use
 * case: what the internal gRPC adapter calls. Messages are Oxia's. Failures are thrown
 * as OxiaErrors (InvalidTerm, InvalidStatus, NodeIsNotMember, ...).
 */
export interface CoordinationApi {
  /** The newest assignments pushed by the coordinator: served to clients and used for leader hints. */
  pushAssignments(assignments: ShardAssignments): void;
  newTerm(request: NewTermRequest): Promise<NewTermResponse>;
  /** Resolves once the node leads: entries of earlier terms committed and applied. */
  becomeLeader(request: BecomeLeaderRequest, signal: AbortSignal): Promise<void>;
  /** With observer set, copies the frozen shard's part to a child of a split (ADR 0025) before it resolves. */
  addFollower(request: AddFollowerRequest, signal?: AbortSignal): Promise<void>;
  /** The parent's leader stops feeding a split observer (idempotent); InvalidTerm at another term. */
  removeObserver(request: RemoveObserverRequest): Promise<void>;
  /** Resolves, when freezing, once the leader's log is final (every proposed entry applied). */
  freezeShard(request: FreezeShardRequest, signal: AbortSignal): Promise<FreezeShardResponse>;
  getStatus(request: GetStatusRequest): Promise<GetStatusResponse>;
  deleteShard(request: DeleteShardRequest): Promise<void>;
  handshake(request: HandshakeRequest): HandshakeResponse;
  getInfo(): GetInfoResponse;
}
export const CoordinationApi: ServiceIdentifier<CoordinationApi> = Symbol.for('oxia.CoordinationApi');

/** A shard leader's view of this node as a follower (Oxia's OxiaLogReplication service). */
export interface ReplicationApi {
  truncate(request: TruncateRequest): Promise<TruncateResponse>;
  /**
   * Serves one Replicate stream: appends in, cumulative acks out through `sendAck`,
   * until the leader ends it (resolves), it fails or `signal` aborts (rejects).
   * `target.term` is -1 when the leader did not send one.
   */
  replicate(target: ReplicationTarget, appends: AsyncIterable<AppendMessage>, sendAck: AckSender, signal: AbortSignal): Promise<void>;
  /** Installs the snapshot the chunks carry; resolves with the offset the replica then holds. */
  installSnapshot(target: ReplicationTarget, chunks: AsyncIterable<SnapshotChunkMessage>, signal: AbortSignal): Promise<bigint>;
}
export const ReplicationApi: ServiceIdentifier<ReplicationApi> = Symbol.for('oxia.ReplicationApi');
