import type { ServiceIdentifier } from 'inversify';
import type {
  CreateSessionRequest,
  CreateSessionResponse,
  CloseSessionRequest,
  GetSequenceUpdatesRequest,
  GetSequenceUpdatesResponse,
  ListRequest,
  ListResponse,
  NotificationBatch,
  NotificationsRequest,
  RangeScanRequest,
  RangeScanResponse,
  ReadRequest,
  ReadResponse,
  SessionHeartbeat,
  ShardAssignments,
  WriteRequest,
  WriteResponse,
} from '../domain/wire/client.js';
import type { KeySorting } from '../domain/sharding/namespace.js';
import type { ReadShardRequest, ReadShardResponse } from '../domain/wire/backup.js';

/**
 * The public data API as a use case: what the gRPC adapter calls for each RPC of
 * OxiaClient. Shard ids are unique on a node across namespaces, so most calls need
 * no namespace. Every failure is thrown as an OxiaError (domain/errors); streams
 * end when `signal` aborts (client cancelled) and throw when the shard goes away.
 */
export interface ClientApi {
  /** The current assignments first, then every change, until `signal` aborts. */
  watchAssignments(namespace: string, signal: AbortSignal): AsyncIterable<ShardAssignments>;
  /** `namespace`, when given (WriteStream metadata), must own the shard. */
  write(shard: bigint, request: WriteRequest, namespace?: string): Promise<WriteResponse>;
  read(shard: bigint, request: ReadRequest, signal: AbortSignal): AsyncIterable<ReadResponse>;
  list(shard: bigint, request: ListRequest, signal: AbortSignal): AsyncIterable<ListResponse>;
  rangeScan(shard: bigint, request: RangeScanRequest, signal: AbortSignal): AsyncIterable<RangeScanResponse>;
  sequenceUpdates(request: GetSequenceUpdatesRequest, signal: AbortSignal): AsyncIterable<GetSequenceUpdatesResponse>;
  notifications(request: NotificationsRequest, signal: AbortSignal): AsyncIterable<NotificationBatch>;
  /** `owner`: the authenticated principal's name, undefined when the server checks no credentials. */
  createSession(request: CreateSessionRequest, owner?: string): Promise<CreateSessionResponse>;
  /** `caller` must be the session's owner when it has one (PermissionDenied otherwise). */
  keepAlive(request: SessionHeartbeat, caller?: string): Promise<void>;
  closeSession(request: CloseSessionRequest, caller?: string): Promise<void>;
  /**
   * A backup's copy of a shard this node leads (oxiats.backup.v1 ReadShard, ADR 0030): its
   * records as of one committed offset; `request.namespace`, when not empty, must own the shard.
   */
  copyShard(request: ReadShardRequest, signal: AbortSignal): AsyncIterable<ReadShardResponse>;
  /** The namespace owning a shard this node leads, and its key order; throws as the data calls would. */
  shardNamespace(shard: bigint, namespace?: string): ShardNamespace;
}

export interface ShardNamespace {
  readonly namespace: string;
  readonly keySorting: KeySorting;
}
export const ClientApi: ServiceIdentifier<ClientApi> = Symbol.for('oxia.ClientApi');
