import type {
  CloseSessionRequest,
  CreateSessionRequest,
  CreateSessionResponse,
  GetSequenceUpdatesRequest,
  GetResponse,
  GetSequenceUpdatesResponse,
  ListRequest,
  ListResponse,
  NotificationBatch,
  NotificationsRequest,
  RangeScanRequest,
  RangeScanResponse,
  ReadRequest,
  SessionHeartbeat,
  ShardAssignments,
  ShardAssignmentsRequest,
  WriteRequest,
  WriteResponse,
} from '../../../domain/wire/client.js';

/**
 * The client's only view of the network: one method per Oxia RPC, addressed by server
 * ("host:port"). The gRPC adapter implements it; unit tests swap in an in-process one.
 *
 * Failures are thrown as `RpcError` (see rpc-error.ts). Server streams end when their
 * `signal` aborts; iterating them pulls messages one at a time, so a slow consumer
 * slows the server down instead of buffering without bound.
 */
export interface ClientTransport {
  shardAssignments(target: string, request: ShardAssignmentsRequest, signal: AbortSignal): AsyncIterable<ShardAssignments>;
  /** One unary Write call; the shard travels in the request. */
  write(target: string, request: WriteRequest, signal: AbortSignal): Promise<WriteResponse>;
  /** Opens a WriteStream; the shard and namespace travel in the call metadata. */
  openWriteStream(target: string, shard: bigint, namespace: string): DuplexCall<WriteRequest, WriteResponse>;
  /**
   * One Read call, its response messages joined: the responses to `request.gets`, in order.
   * A Read's responses are bounded by its request (the client's batch), so they are
   * collected as they arrive rather than pulled one message at a time: no async iteration
   * per batch on the hot path of gets.
   */
  read(target: string, request: ReadRequest, signal: AbortSignal): Promise<GetResponse[]>;
  list(target: string, request: ListRequest, signal: AbortSignal): AsyncIterable<ListResponse>;
  rangeScan(target: string, request: RangeScanRequest, signal: AbortSignal): AsyncIterable<RangeScanResponse>;
  sequenceUpdates(target: string, request: GetSequenceUpdatesRequest, signal: AbortSignal): AsyncIterable<GetSequenceUpdatesResponse>;
  notifications(target: string, request: NotificationsRequest, signal: AbortSignal): AsyncIterable<NotificationBatch>;
  createSession(target: string, request: CreateSessionRequest, signal: AbortSignal): Promise<CreateSessionResponse>;
  keepAlive(target: string, request: SessionHeartbeat, signal: AbortSignal): Promise<void>;
  closeSession(target: string, request: CloseSessionRequest, signal: AbortSignal): Promise<void>;
  /** Releases every connection; calls in progress fail. */
  close(): void;
}

/** A bidirectional stream: requests go out with `write`, responses come back in order. */
export interface DuplexCall<Req, Res> {
  write(request: Req): void;
  /** Ends when the server ends the call; throws RpcError when it fails. */
  readonly responses: AsyncIterable<Res>;
  /** Half-closes: no more requests, responses still arrive. */
  end(): void;
  /** Abandons the call. */
  cancel(): void;
}
