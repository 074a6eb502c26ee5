/**
 * The ReplicationClient port over grpc-js: OxiaLogReplication calls to followers'
 * internal addresses, one channel per address (pooled, reused by every shard's cursor),
 * Oxia's call metadata (namespace, shard-id, term) on the streams.
 */
import { makeGenericClientConstructor, Metadata, status as GrpcCode } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream, ClientWritableStream, ServiceError } from '@grpc/grpc-js';
import { inject, injectable } from 'inversify';
import { Logger } from '../../application/ports/logger.js';
import type {
  AppendMessage,
  ReplicateStream,
  ReplicateStreamHandlers,
  ReplicationClient,
  ReplicationTarget,
  SnapshotChunkMessage,
  SnapshotSink,
} from '../../application/ports/replication-client.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { EntryId } from '../../domain/wal/log-entry.js';
import type { Ack, Append, SnapshotChunk, SnapshotResponse, TruncateRequest, TruncateResponse } from '../../domain/wire/replication.js';
import { OxiaLogReplicationService } from '../grpc-protocol/service-definitions.js';
import { CHANNEL_OPTIONS_COMMON } from '../grpc-protocol/channel-options.js';
import { grpcErrorToOxiaError } from '../grpc-protocol/error-status.js';
import { PeerChannelSecurity, type ChannelSecurity } from '../tls/grpc-channel-credentials.js';
import { writeBounded } from '../grpc/stream-writes.js';

export const METADATA_NAMESPACE = 'namespace';
export const METADATA_SHARD_ID = 'shard-id';
export const METADATA_TERM = 'term';

/** How long a Truncate may take; the leader's election waits on it. */
const TRUNCATE_DEADLINE_MS = 10_000;

type ReplicationGrpcClient = Client & {
  truncate(
    request: TruncateRequest,
    metadata: Metadata,
    options: { deadline: Date },
    callback: (error: ServiceError | null, response?: TruncateResponse) => void,
  ): unknown;
  replicate(metadata: Metadata): ClientDuplexStream<Append, Ack>;
  sendSnapshot(metadata: Metadata, callback: (error: ServiceError | null, response?: SnapshotResponse) => void): ClientWritableStream<SnapshotChunk>;
};

const ReplicationClientCtor = makeGenericClientConstructor(OxiaLogReplicationService, 'OxiaLogReplication');

const CHANNEL_OPTIONS = {
  // A dead follower must not hold a stream (and the leader's in-flight window) forever.
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  // Followers restart on the same address: find them again quickly.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
  'grpc.max_send_message_length': -1,
  'grpc.max_receive_message_length': -1,
  ...CHANNEL_OPTIONS_COMMON,
};

function targetMetadata(target: ReplicationTarget): Metadata {
  const md = new Metadata();
  md.set(METADATA_NAMESPACE, target.namespace);
  md.set(METADATA_SHARD_ID, target.shard.toString());
  md.set(METADATA_TERM, target.term.toString());
  return md;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toWireAppend(append: AppendMessage): Append {
  const entry = append.entry;
  return {
    term: append.term,
    entry: entry ? { term: entry.term, offset: entry.offset, value: asBuffer(entry.value), timestamp: entry.timestamp } : undefined,
    commitOffset: append.commitOffset,
    cumulativeAcksSupported: true,
    leaseProbeMs: append.leaseProbeMs,
    previousEntryCrc: append.previousEntryCrc,
    digestOffset: append.digestCheckpoint?.offset,
    digest: append.digestCheckpoint?.digest,
  };
}

@injectable()
export class GrpcReplicationClient implements ReplicationClient {
  private readonly clients = new Map<string, ReplicationGrpcClient>();
  private closed = false;
  private readonly log: Logger;

  constructor(
    @inject(Logger) logger: Logger,
    @inject(PeerChannelSecurity) private readonly security: ChannelSecurity,
  ) {
    this.log = logger.child({ component: 'replication-client' });
  }

  truncate(follower: string, target: ReplicationTarget, head: EntryId): Promise<EntryId> {
    return new Promise<EntryId>((resolve, reject) => {
      const client = this.client(follower);
      const request: TruncateRequest = { namespace: target.namespace, shard: target.shard, term: target.term, headEntryId: head };
      client.truncate(request, new Metadata(), { deadline: new Date(Date.now() + TRUNCATE_DEADLINE_MS) }, (error, response) => {
        if (error) return reject(this.toOxiaError(follower, error));
        resolve(response?.headEntryId ?? { term: -1n, offset: -1n });
      });
    });
  }

  replicate(follower: string, target: ReplicationTarget, handlers: ReplicateStreamHandlers): ReplicateStream {
    const call = this.client(follower).replicate(targetMetadata(target));
    let closed = false;
    const drainWaiters = new Set<() => void>();
    const close = (error: OxiaError | undefined): void => {
      if (closed) return;
      closed = true;
      for (const wake of drainWaiters) wake();
      drainWaiters.clear();
      handlers.onClose(error);
    };
    call.on('data', (ack: Ack) => {
      if (!closed) handlers.onAck(ack.offset, ack.leaseEchoMs);
    });
    call.on('error', (error: ServiceError) => close(this.toOxiaError(follower, error)));
    call.on('end', () => close(undefined));
    return {
      send: (append) => (closed ? true : call.write(toWireAppend(append))),
      writable: () =>
        closed
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              const wake = (): void => {
                call.removeListener('drain', wake);
                drainWaiters.delete(wake);
                resolve();
              };
              drainWaiters.add(wake);
              call.once('drain', wake);
            }),
      cancel: () => {
        if (!closed) call.cancel();
      },
    };
  }

  sendSnapshot(follower: string, target: ReplicationTarget): SnapshotSink {
    let failure: OxiaError | undefined;
    const wakeOnFailure = new Set<() => void>();
    let settle!: { resolve: (offset: bigint) => void; reject: (e: OxiaError) => void };
    const result = new Promise<bigint>((resolve, reject) => (settle = { resolve, reject }));
    result.catch(() => undefined); // observed by finish(); a cancelled sink may never be finished
    const call = this.client(follower).sendSnapshot(targetMetadata(target), (error, response) => {
      if (error) {
        failure = this.toOxiaError(follower, error);
        for (const wake of wakeOnFailure) wake();
        settle.reject(failure);
      } else {
        settle.resolve(response?.ackOffset ?? -1n);
      }
    });
    call.on('error', () => undefined); // reported through the callback
    return {
      send: (chunk: SnapshotChunkMessage) => {
        if (failure) return Promise.reject(failure);
        // Beyond a couple of queued chunks, wait until this one went out, rather than letting
        // grpc-js queue 16 chunks per transfer.
        let wake: (() => void) | undefined;
        if (writeBounded(call, { ...chunk, content: asBuffer(chunk.content) }, () => wake?.())) return Promise.resolve();
        return new Promise<void>((resolve, reject) => {
          const done = (): void => {
            wakeOnFailure.delete(done);
            if (failure) reject(failure);
            else resolve();
          };
          wake = done;
          wakeOnFailure.add(done);
        });
      },
      finish: () => {
        call.end();
        return result;
      },
      cancel: () => call.cancel(),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    this.security.close();
  }

  private client(address: string): ReplicationGrpcClient {
    if (this.closed) throw new OxiaError('Closed', 'the replication client is closed');
    let client = this.clients.get(address);
    if (!client) {
      client = new ReplicationClientCtor(address, this.security.credentials, { ...CHANNEL_OPTIONS, ...this.security.channelOptions }) as unknown as ReplicationGrpcClient;
      this.clients.set(address, client);
      this.log.debug('connecting to follower', { address });
    }
    return client;
  }

  private toOxiaError(follower: string, error: ServiceError): OxiaError {
    const mapped = grpcErrorToOxiaError(error);
    if (mapped) return mapped;
    if (error.code === GrpcCode.CANCELLED) return new OxiaError('Aborted', `replication call to ${follower} cancelled`);
    return new OxiaError('ResourceUnavailable', `follower ${follower}: ${error.details || error.message}`);
  }
}
