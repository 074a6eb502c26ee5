/**
 * The internal gRPC API of a storage node: OxiaCoordination (the coordinator's calls)
 * and OxiaLogReplication (shard leaders' calls), as Oxia's data servers serve them.
 * Each handler turns the call into a CoordinationApi / ReplicationApi call and ends it
 * with the status status-mapping.ts gives the error.
 */
import { status as GrpcCode } from '@grpc/grpc-js';
import type {
  sendUnaryData,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Metadata } from '@grpc/grpc-js';
import { inject, injectable } from 'inversify';
import { CoordinationApi, ReplicationApi } from '../../application/node/storage-node-api.js';
import { Logger } from '../../application/ports/logger.js';
import type { AppendMessage, ReplicationTarget, SnapshotChunkMessage } from '../../application/ports/replication-client.js';
import { OxiaError, invalidArgument } from '../../domain/errors/oxia-error.js';
import type { ShardAssignments } from '../../domain/wire/client.js';
import type {
  Ack,
  AddFollowerRequest,
  AddFollowerResponse,
  Append,
  BecomeLeaderRequest,
  BecomeLeaderResponse,
  CoordinationShardAssignmentsResponse,
  DeleteShardRequest,
  FreezeShardRequest,
  FreezeShardResponse,
  RemoveObserverRequest,
  RemoveObserverResponse,
  DeleteShardResponse,
  GetInfoRequest,
  GetInfoResponse,
  GetStatusRequest,
  GetStatusResponse,
  HandshakeRequest,
  HandshakeResponse,
  NewTermRequest,
  NewTermResponse,
  SnapshotChunk,
  SnapshotResponse,
  TruncateRequest,
  TruncateResponse,
} from '../../domain/wire/replication.js';
import { readNamespaceMetadata, readShardIdMetadata } from './call-metadata.js';
import { ServerCallTracker } from './server-call-tracker.js';
import { errorToStatus, oxiaErrorToStatus } from './status-mapping.js';
import type { GrpcStatusError } from './status-mapping.js';

const METADATA_TERM = 'term';

const SHUTTING_DOWN = (): OxiaError => new OxiaError('Closed', 'the server is shutting down');

/** The leader's term from the stream metadata; -1 when absent (older leaders send none). */
function readTermMetadata(metadata: Metadata): bigint {
  const values = metadata.get(METADATA_TERM);
  if (values.length === 0) return -1n;
  const text = values[0];
  if (values.length > 1 || typeof text !== 'string' || !/^-?\d{1,19}$/.test(text.trim())) {
    throw invalidArgument(`the '${METADATA_TERM}' metadata field must be one decimal term`);
  }
  return BigInt(text.trim());
}

function readTarget(metadata: Metadata): ReplicationTarget {
  return { namespace: readNamespaceMetadata(metadata), shard: readShardIdMetadata(metadata), term: readTermMetadata(metadata) };
}

/** A request stream as an async iterable of converted messages, ending when the stream does. */
async function* messagesOf<T, U>(call: AsyncIterable<unknown>, convert: (message: T) => U): AsyncIterable<U> {
  for await (const message of call) yield convert(message as T);
}

function appendOf(append: Append): AppendMessage {
  return {
    term: append.term,
    entry: append.entry,
    commitOffset: append.commitOffset,
    leaseProbeMs: append.leaseProbeMs,
    previousEntryCrc: append.previousEntryCrc,
    digestCheckpoint:
      append.digestOffset !== undefined && append.digest !== undefined ? { offset: append.digestOffset, digest: append.digest } : undefined,
  };
}

function chunkOf(chunk: SnapshotChunk): SnapshotChunkMessage {
  return chunk;
}

@injectable()
export class InternalServiceHandlers {
  private readonly log: Logger;

  constructor(
    @inject(CoordinationApi) private readonly coordination: CoordinationApi,
    @inject(ReplicationApi) private readonly replication: ReplicationApi,
    @inject(ServerCallTracker) private readonly calls: ServerCallTracker,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child({ component: 'internal-grpc' });
  }

  /** Handlers keyed like OxiaCoordinationService. */
  coordinationImplementation(): UntypedServiceImplementation {
    const c = this.coordination;
    return {
      pushShardAssignments: (call: ServerReadableStream<ShardAssignments, CoordinationShardAssignmentsResponse>, callback: sendUnaryData<CoordinationShardAssignmentsResponse>) =>
        this.servePushAssignments(call, callback),
      newTerm: (call: ServerUnaryCall<NewTermRequest, NewTermResponse>, callback: sendUnaryData<NewTermResponse>) =>
        void this.serveUnary(call, callback, 'NewTerm', () => c.newTerm(call.request)),
      becomeLeader: (call: ServerUnaryCall<BecomeLeaderRequest, BecomeLeaderResponse>, callback: sendUnaryData<BecomeLeaderResponse>) =>
        void this.serveUnary(call, callback, 'BecomeLeader', async () => {
          const tracked = this.calls.track(call);
          try {
            await c.becomeLeader(call.request, tracked.signal);
            return {};
          } finally {
            tracked.release();
          }
        }),
      addFollower: (call: ServerUnaryCall<AddFollowerRequest, AddFollowerResponse>, callback: sendUnaryData<AddFollowerResponse>) =>
        void this.serveUnary(call, callback, 'AddFollower', async () => {
          const tracked = this.calls.track(call);
          try {
            await c.addFollower(call.request, tracked.signal);
            return {};
          } finally {
            tracked.release();
          }
        }),
      getStatus: (call: ServerUnaryCall<GetStatusRequest, GetStatusResponse>, callback: sendUnaryData<GetStatusResponse>) =>
        void this.serveUnary(call, callback, 'GetStatus', () => c.getStatus(call.request)),
      deleteShard: (call: ServerUnaryCall<DeleteShardRequest, DeleteShardResponse>, callback: sendUnaryData<DeleteShardResponse>) =>
        void this.serveUnary(call, callback, 'DeleteShard', async () => {
          await c.deleteShard(call.request);
          return {};
        }),
      handshake: (call: ServerUnaryCall<HandshakeRequest, HandshakeResponse>, callback: sendUnaryData<HandshakeResponse>) =>
        void this.serveUnary(call, callback, 'Handshake', async () => c.handshake(call.request)),
      getInfo: (call: ServerUnaryCall<GetInfoRequest, GetInfoResponse>, callback: sendUnaryData<GetInfoResponse>) =>
        void this.serveUnary(call, callback, 'GetInfo', async () => c.getInfo()),
      removeObserver: (call: ServerUnaryCall<RemoveObserverRequest, RemoveObserverResponse>, callback: sendUnaryData<RemoveObserverResponse>) =>
        void this.serveUnary(call, callback, 'RemoveObserver', async () => {
          await c.removeObserver(call.request);
          return {};
        }),
      freezeShard: (call: ServerUnaryCall<FreezeShardRequest, FreezeShardResponse>, callback: sendUnaryData<FreezeShardResponse>) =>
        void this.serveUnary(call, callback, 'FreezeShard', async () => {
          const tracked = this.calls.track(call);
          try {
            return await c.freezeShard(call.request, tracked.signal);
          } finally {
            tracked.release();
          }
        }),
    };
  }

  /** Handlers keyed like OxiaLogReplicationService. */
  replicationImplementation(): UntypedServiceImplementation {
    const r = this.replication;
    return {
      truncate: (call: ServerUnaryCall<TruncateRequest, TruncateResponse>, callback: sendUnaryData<TruncateResponse>) =>
        void this.serveUnary(call, callback, 'Truncate', () => r.truncate(call.request)),
      replicate: (call: ServerDuplexStream<Append, Ack>) => void this.serveReplicate(call),
      sendSnapshot: (call: ServerReadableStream<SnapshotChunk, SnapshotResponse>, callback: sendUnaryData<SnapshotResponse>) =>
        void this.serveSendSnapshot(call, callback),
    };
  }

  private async serveUnary<Req, Res>(call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>, method: string, run: () => Promise<Res>): Promise<void> {
    try {
      callback(null, await run());
    } catch (error) {
      callback(this.statusOf(error, method, call.getPeer()));
    }
  }

  /**
   * PushShardAssignments: every message is the coordinator's newest view; the stream
   * stays open for as long as the coordinator keeps it (a shutdown ends it as Closed).
   */
  private servePushAssignments(
    call: ServerReadableStream<ShardAssignments, CoordinationShardAssignmentsResponse>,
    callback: sendUnaryData<CoordinationShardAssignmentsResponse>,
  ): void {
    const tracked = this.calls.track(call);
    let done = false;
    const finish = (error?: GrpcStatusError): void => {
      if (done) return;
      done = true;
      tracked.release();
      if (error) callback(error);
      else callback(null, {});
    };
    this.log.info('coordinator connected to push shard assignments', { peer: call.getPeer() });
    call.on('data', (assignments: ShardAssignments) => {
      try {
        this.coordination.pushAssignments(assignments);
      } catch (error) {
        finish(this.statusOf(error, 'PushShardAssignments', call.getPeer()));
      }
    });
    call.on('end', () => finish());
    call.on('error', () => finish());
    tracked.signal.addEventListener('abort', () => {
      if (tracked.reason() === 'shutdown') finish(oxiaErrorToStatus(SHUTTING_DOWN()));
      else finish();
    });
  }

  /** Replicate: appends in, cumulative acks out, until either side ends the stream. */
  private async serveReplicate(call: ServerDuplexStream<Append, Ack>): Promise<void> {
    let target: ReplicationTarget;
    try {
      target = readTarget(call.metadata);
    } catch (error) {
      call.emit('error', this.statusOf(error, 'Replicate', call.getPeer()));
      return;
    }
    const tracked = this.calls.track(call);
    call.on('error', (error: unknown) => this.log.debug('replicate stream failed', { error: String(error) }));
    try {
      await this.replication.replicate(
        target,
        messagesOf<Append, AppendMessage>(call, appendOf),
        (offset, leaseEchoMs) => {
          if (!call.writableEnded && !call.destroyed) call.write({ offset, leaseEchoMs });
        },
        tracked.signal,
      );
      if (!tracked.signal.aborted) call.end();
    } catch (error) {
      if (tracked.reason() === 'cancelled') return;
      if (tracked.reason() === 'shutdown') call.emit('error', oxiaErrorToStatus(SHUTTING_DOWN()));
      else call.emit('error', this.statusOf(error, 'Replicate', call.getPeer()));
    } finally {
      tracked.release();
    }
  }

  private async serveSendSnapshot(call: ServerReadableStream<SnapshotChunk, SnapshotResponse>, callback: sendUnaryData<SnapshotResponse>): Promise<void> {
    let target: ReplicationTarget;
    try {
      target = readTarget(call.metadata);
    } catch (error) {
      callback(this.statusOf(error, 'SendSnapshot', call.getPeer()));
      return;
    }
    const tracked = this.calls.track(call);
    try {
      const ackOffset = await this.replication.installSnapshot(target, messagesOf<SnapshotChunk, SnapshotChunkMessage>(call, chunkOf), tracked.signal);
      callback(null, { ackOffset });
    } catch (error) {
      callback(tracked.reason() === 'shutdown' ? oxiaErrorToStatus(SHUTTING_DOWN()) : this.statusOf(error, 'SendSnapshot', call.getPeer()));
    } finally {
      tracked.release();
    }
  }

  private statusOf(error: unknown, method: string, peer: string): GrpcStatusError {
    if (error instanceof OxiaError) this.log.debug('internal request failed', { method, peer, kind: error.kind, message: error.message });
    return errorToStatus(error, (unexpected) =>
      this.log.error('unexpected error in an internal gRPC handler', {
        method,
        peer,
        error: unexpected instanceof Error ? (unexpected.stack ?? unexpected.message) : String(unexpected),
      }),
    );
  }
}
