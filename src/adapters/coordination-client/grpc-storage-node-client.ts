/**
 * The StorageNodeClient port over grpc-js: one channel per node internal address, shared by
 * the OxiaCoordination and grpc.health.v1 calls to that node, created on first use.
 */
import { Client, Metadata, type ClientWritableStream, status as GrpcCode, type ChannelOptions, type MethodDefinition, type ServiceError } from '@grpc/grpc-js';
import type { ServiceIdentifier } from 'inversify';
import { inject, injectable } from 'inversify';
import type {
  AssignmentsStream,
  HealthWatch,
  HealthWatchListener,
  StorageNodeClient,
} from '../../application/ports/storage-node-client.js';
import type { NodeAddress } from '../../domain/cluster/node-address.js';
import type { HealthObservation } from '../../domain/coordinator/node-health.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { ShardAssignments } from '../../domain/wire/client.js';
import { HealthCheckResponse_ServingStatus as ServingStatus, type HealthCheckResponse } from '../../domain/wire/health.js';
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
import { HealthService, OxiaCoordinationService } from '../grpc-protocol/service-definitions.js';
import { CHANNEL_OPTIONS_COMMON } from '../grpc-protocol/channel-options.js';
import { grpcErrorToOxiaError } from '../grpc-protocol/error-status.js';
import { PeerChannelSecurity, type ChannelSecurity } from '../tls/grpc-channel-credentials.js';

export interface StorageNodeClientOptions {
  /** Bound on each coordination call (Oxia: 30 s). */
  readonly rpcTimeoutMs: number;
}
export const StorageNodeClientOptions: ServiceIdentifier<StorageNodeClientOptions> = Symbol.for('oxia.StorageNodeClientOptions');

const CHANNEL_OPTIONS: ChannelOptions = {
  // A restarted node must be reachable again within a health-check interval or two; grpc-js's
  // default reconnect backoff grows to two minutes.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  // ShardAssignments of large clusters, status answers: far below this.
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  ...CHANNEL_OPTIONS_COMMON,
};

/** The whole node, as Oxia's coordinator asks. */
const WHOLE_NODE = '';

@injectable()
export class GrpcStorageNodeClient implements StorageNodeClient {
  private readonly channels = new Map<string, Client>();
  private closed = false;

  constructor(
    @inject(StorageNodeClientOptions) private readonly options: StorageNodeClientOptions,
    @inject(PeerChannelSecurity) private readonly security: ChannelSecurity,
  ) {}

  newTerm(node: NodeAddress, request: NewTermRequest, signal?: AbortSignal): Promise<NewTermResponse> {
    return this.unary(OxiaCoordinationService.newTerm, node, request, signal);
  }

  async becomeLeader(node: NodeAddress, request: BecomeLeaderRequest, signal?: AbortSignal): Promise<void> {
    await this.unary(OxiaCoordinationService.becomeLeader, node, request, signal);
  }

  async addFollower(node: NodeAddress, request: AddFollowerRequest, signal?: AbortSignal): Promise<void> {
    await this.unary(OxiaCoordinationService.addFollower, node, request, signal);
  }

  freezeShard(node: NodeAddress, request: FreezeShardRequest, signal?: AbortSignal): Promise<FreezeShardResponse> {
    return this.unary(OxiaCoordinationService.freezeShard, node, request, signal);
  }

  async addObserver(node: NodeAddress, request: AddFollowerRequest, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await this.unary(OxiaCoordinationService.addFollower, node, request, signal, timeoutMs);
  }

  async removeObserver(node: NodeAddress, request: RemoveObserverRequest, signal?: AbortSignal): Promise<void> {
    await this.unary(OxiaCoordinationService.removeObserver, node, request, signal);
  }

  getStatus(node: NodeAddress, request: GetStatusRequest, signal?: AbortSignal): Promise<GetStatusResponse> {
    return this.unary(OxiaCoordinationService.getStatus, node, request, signal);
  }

  async deleteShard(node: NodeAddress, request: DeleteShardRequest, signal?: AbortSignal): Promise<void> {
    await this.unary(OxiaCoordinationService.deleteShard, node, request, signal);
  }

  async checkHealth(node: NodeAddress, timeoutMs: number, signal?: AbortSignal): Promise<HealthObservation> {
    try {
      const response = await this.unary(HealthService.check, node, { service: WHOLE_NODE }, signal, timeoutMs, true);
      return response.status === ServingStatus.SERVING ? 'serving' : 'not-serving';
    } catch (e) {
      if (e instanceof RawGrpcFailure) {
        if (e.code === GrpcCode.DEADLINE_EXCEEDED) return 'timeout';
        // No connection could be made, or it broke: the process is gone or unreachable.
        if (e.code === GrpcCode.UNAVAILABLE) return 'unreachable';
      }
      // E.g. CANCELLED by a connection being torn down: that proves nothing either way.
      return 'failed';
    }
  }

  watchHealth(node: NodeAddress, listener: HealthWatchListener): HealthWatch {
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      listener.onEnd();
    };
    let call: ReturnType<Client['makeServerStreamRequest']>;
    try {
      const def = HealthService.watch;
      call = this.channel(node).makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, { service: WHOLE_NODE }, new Metadata());
    } catch {
      queueMicrotask(end);
      return { cancel: () => (done = true) };
    }
    call.on('data', (m: HealthCheckResponse) => {
      if (!done) listener.onStatus(m.status === ServingStatus.SERVING ? 'serving' : 'not-serving');
    });
    call.on('error', end);
    call.on('end', end);
    return {
      cancel: () => {
        done = true;
        call.cancel();
      },
    };
  }

  pushAssignments(node: NodeAddress, onEnd: (error: Error) => void): AssignmentsStream {
    let ended = false;
    const finish = (error: Error): void => {
      if (ended) return;
      ended = true;
      onEnd(error);
    };
    const def = OxiaCoordinationService.pushShardAssignments;
    let call: ClientWritableStream<ShardAssignments>;
    try {
      call = this.channel(node).makeClientStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, new Metadata(), {}, (err) =>
        finish(err ? this.toOxiaError(err, node, 'PushShardAssignments') : new OxiaError('ResourceUnavailable', `${node.internal} ended the assignments stream`)),
      );
    } catch (e) {
      queueMicrotask(() => finish(e instanceof Error ? e : new Error(String(e))));
      return { send: () => false, close: () => (ended = true) };
    }
    // A write error also ends the call through the callback; this only keeps it from being unhandled.
    call.on('error', () => undefined);
    return {
      send: (assignments: ShardAssignments) => {
        if (ended) return false;
        call.write(assignments);
        return true;
      },
      close: () => {
        ended = true;
        call.cancel();
      },
    };
  }

  forget(node: NodeAddress): void {
    const c = this.channels.get(node.internal);
    if (!c) return;
    this.channels.delete(node.internal);
    c.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
    this.security.close();
  }

  private channel(node: NodeAddress): Client {
    if (this.closed) throw new OxiaError('Closed', 'the storage node client is closed');
    let c = this.channels.get(node.internal);
    if (!c) {
      c = new Client(node.internal, this.security.credentials, { ...CHANNEL_OPTIONS, ...this.security.channelOptions });
      this.channels.set(node.internal, c);
    }
    return c;
  }

  /**
   * One unary call with a deadline. `raw`: reject with the bare gRPC failure instead of an
   * OxiaError (health checks classify codes themselves).
   */
  private unary<Req, Res>(
    def: MethodDefinition<Req, Res>,
    node: NodeAddress,
    request: Req,
    signal: AbortSignal | undefined,
    timeoutMs = this.options.rpcTimeoutMs,
    raw = false,
  ): Promise<Res> {
    const what = def.path.slice(def.path.lastIndexOf('/') + 1);
    return new Promise<Res>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new OxiaError('Aborted', `${what} to ${node.internal} was abandoned`));
        return;
      }
      let client: Client;
      try {
        client = this.channel(node);
      } catch (e) {
        reject(e);
        return;
      }
      const onAbort = (): void => call.cancel();
      const call = client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, response) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          if (signal?.aborted) reject(new OxiaError('Aborted', `${what} to ${node.internal} was abandoned`));
          else reject(raw ? new RawGrpcFailure(err.code, err.details) : this.toOxiaError(err, node, what));
        } else {
          resolve(response as Res);
        }
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private toOxiaError(err: ServiceError, node: NodeAddress, what: string): OxiaError {
    const known = grpcErrorToOxiaError(err);
    if (known) return new OxiaError(known.kind, `${what} to ${node.internal}: ${known.message}`, known.leaderHint);
    const kind = err.code === GrpcCode.CANCELLED ? 'Aborted' : err.code === GrpcCode.INVALID_ARGUMENT ? 'InvalidArgument' : 'ResourceUnavailable';
    return new OxiaError(kind, `${what} to ${node.internal} failed: ${GrpcCode[err.code] ?? err.code}: ${err.details}`);
  }
}

class RawGrpcFailure extends Error {
  constructor(
    readonly code: GrpcCode,
    details: string,
  ) {
    super(details);
  }
}
