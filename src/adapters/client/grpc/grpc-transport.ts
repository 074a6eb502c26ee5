import {
  Client,
  InterceptingCall,
  type ClientDuplexStream,
  Metadata,
  status as GrpcStatus,
  type ChannelOptions,
  type Interceptor,
  type MethodDefinition,
} from '@grpc/grpc-js';
import { OXIA_TS_CLIENT_USER_AGENT } from '../../../domain/protocol/client-identity.js';
import type {
  CloseSessionRequest,
  CreateSessionRequest,
  CreateSessionResponse,
  GetResponse,
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
  ShardAssignmentsRequest,
  WriteRequest,
  WriteResponse,
} from '../../../domain/wire/client.js';
import type { ReadShardRequest, ReadShardResponse } from '../../../domain/wire/backup.js';
import type { ReadStreamRequest, ReadStreamResponse } from '../../../domain/wire/client_extensions.js';
import { OxiaBackupService, OxiaClientService, OxiaTsClientService } from '../../grpc-protocol/service-definitions.js';
import { CHANNEL_OPTIONS_COMMON } from '../../grpc-protocol/channel-options.js';
import { channelSecurityFromPem, PLAINTEXT, type ChannelSecurity } from '../../tls/grpc-channel-credentials.js';
import type { Authentication } from '../auth.js';
import type { ClientTlsOptions } from '../options.js';
import type { ClientTransport, DuplexCall } from '../internal/transport.js';
import { rpcErrorOf } from './grpc-errors.js';
import { ReadStreamChannel } from './read-stream.js';

const CHANNEL_OPTIONS: ChannelOptions = {
  // Reconnect quickly after a server restart or leader move; grpc-js's default backoff
  // grows to two minutes, far beyond any request timeout.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
  // Above the largest response an Oxia server sends (values up to 8 MiB, 16 MiB requests).
  'grpc.max_receive_message_length': 32 * 1024 * 1024,
  // Tells servers this client never resets a finished stream (ADR 0017).
  'grpc.primary_user_agent': OXIA_TS_CLIENT_USER_AGENT,
  ...CHANNEL_OPTIONS_COMMON,
};

/** Asks `auth` for metadata before each call starts; a failure ends the call as UNAUTHENTICATED. */
function authInterceptor(auth: Authentication): Interceptor {
  return (options, nextCall) => {
    const intercepted: InterceptingCall = new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        Promise.resolve()
          .then(() => auth.generateCredentials())
          .then(
            (creds) => {
              for (const [k, v] of Object.entries(creds)) metadata.set(k, v);
              next(metadata, listener);
            },
            (e: unknown) => intercepted.cancelWithStatus(GrpcStatus.UNAUTHENTICATED, `authentication failed: ${e instanceof Error ? e.message : String(e)}`),
          );
      },
    });
    return intercepted;
  };
}

/**
 * Starts a grpc-js call without the stack trace grpc-js captures at every call start (an Error
 * made only for the message of a failed call). Every grpc-js failure becomes an RpcError here
 * (rpcErrorOf), which keeps code, details and trailers but never that stack; on the per-batch
 * calls of gets the capture was a measurable share of the client's CPU.
 */
function startWithoutCallerStack<T>(start: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return start();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

const bufferOf = (pem: string | Buffer | undefined): Buffer | undefined => (pem === undefined ? undefined : Buffer.isBuffer(pem) ? pem : Buffer.from(pem));
const pemOf = (tls: ClientTlsOptions) => ({ ca: bufferOf(tls.ca), cert: bufferOf(tls.cert), key: bufferOf(tls.key) });

/**
 * The client transport over grpc-js: one channel per server address, created on first use.
 * Read batches go on one ReadStream per server (ADR 0034), except with `authentication`: its
 * credentials are asked for per call, and a stream would ask once for all its reads.
 */
export class GrpcTransport implements ClientTransport {
  private readonly clients = new Map<string, Client>();
  private readonly readStreams: Map<string, ReadStreamChannel> | undefined;
  private readonly interceptors: Interceptor[];
  private closed = false;
  private readonly security: ChannelSecurity;

  constructor(authentication?: Authentication, tls?: ClientTlsOptions) {
    this.interceptors = authentication === undefined ? [] : [authInterceptor(authentication)];
    this.security = tls === undefined ? PLAINTEXT : channelSecurityFromPem(pemOf(tls), tls);
    this.readStreams = authentication === undefined ? new Map() : undefined;
  }

  private client(target: string): Client {
    if (this.closed) throw rpcErrorOf(new Error('transport is closed'), target);
    let c = this.clients.get(target);
    if (c === undefined) {
      c = new Client(target, this.security.credentials, { ...CHANNEL_OPTIONS, ...this.security.channelOptions, interceptors: this.interceptors });
      this.clients.set(target, c);
    }
    return c;
  }

  private serverStream<Req, Res>(def: MethodDefinition<Req, Res>, target: string, request: Req, signal: AbortSignal, metadata = new Metadata()): AsyncIterable<Res> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        if (signal.aborted) throw signal.reason;
        const call = self.client(target).makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request, metadata);
        const onAbort = () => call.cancel();
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          for await (const message of call) yield message as Res;
        } catch (e) {
          if (signal.aborted) throw signal.reason;
          throw rpcErrorOf(e, target);
        } finally {
          signal.removeEventListener('abort', onAbort);
          call.cancel();
        }
      },
    };
  }

  private unary<Req, Res>(def: MethodDefinition<Req, Res>, target: string, request: Req, signal: AbortSignal): Promise<Res> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => call.cancel();
      const client = this.client(target);
      const call = startWithoutCallerStack(() =>
        client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, new Metadata(), {}, (err, response) => {
          signal.removeEventListener('abort', onAbort);
          if (err !== null && err !== undefined) reject(signal.aborted ? signal.reason : rpcErrorOf(err, target));
          else resolve(response as Res);
        }),
      );
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  shardAssignments(target: string, request: ShardAssignmentsRequest, signal: AbortSignal): AsyncIterable<ShardAssignments> {
    return this.serverStream(OxiaClientService.getShardAssignments, target, request, signal);
  }

  write(target: string, request: WriteRequest, signal: AbortSignal): Promise<WriteResponse> {
    return this.unary(OxiaClientService.write, target, request, signal);
  }

  openWriteStream(target: string, shard: bigint, namespace: string): DuplexCall<WriteRequest, WriteResponse> {
    const def = OxiaClientService.writeStream;
    const metadata = new Metadata();
    metadata.set('shard-id', shard.toString());
    metadata.set('namespace', namespace);
    const call = this.client(target).makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, metadata);
    async function* responses(): AsyncGenerator<WriteResponse> {
      try {
        for await (const message of call) yield message as WriteResponse;
      } catch (e) {
        throw rpcErrorOf(e, target);
      }
    }
    return {
      write: (r) => {
        call.write(r);
      },
      responses: responses(),
      end: () => call.end(),
      cancel: () => call.cancel(),
    };
  }

  read(target: string, request: ReadRequest, signal: AbortSignal): Promise<GetResponse[]> {
    if (this.readStreams === undefined) return this.readCall(target, request, signal);
    let channel = this.readStreams.get(target);
    if (channel === undefined) {
      if (this.closed) return Promise.reject(rpcErrorOf(new Error('transport is closed'), target));
      channel = new ReadStreamChannel(
        {
          open: () => {
            const def = OxiaTsClientService.readStream;
            return this.client(target).makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize) as ClientDuplexStream<
              ReadStreamRequest,
              ReadStreamResponse
            >;
          },
          readCall: (r, s) => this.readCall(target, r, s),
        },
        target,
      );
      this.readStreams.set(target, channel);
    }
    return channel.read(request, signal);
  }

  /** One OxiaClient.Read call, its messages' gets joined. */
  private readCall(target: string, request: ReadRequest, signal: AbortSignal): Promise<GetResponse[]> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const def = OxiaClientService.read;
      const client = this.client(target);
      const call = startWithoutCallerStack(() => client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request, new Metadata()));
      const gets: GetResponse[] = [];
      let settled = false;
      const settle = (failed: boolean, error?: unknown): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        call.cancel();
        if (!failed) resolve(gets);
        else reject(signal.aborted ? signal.reason : rpcErrorOf(error, target));
      };
      const onAbort = (): void => settle(true);
      signal.addEventListener('abort', onAbort, { once: true });
      call.on('data', (message: ReadResponse) => {
        for (const g of message.gets) gets.push(g);
      });
      // grpc-js emits 'error' (a failed status) before 'end', which follows the last message.
      call.on('error', (e: unknown) => settle(true, e));
      call.on('end', () => settle(false));
    });
  }
  list(target: string, request: ListRequest, signal: AbortSignal): AsyncIterable<ListResponse> {
    return this.serverStream(OxiaClientService.list, target, request, signal);
  }
  rangeScan(target: string, request: RangeScanRequest, signal: AbortSignal): AsyncIterable<RangeScanResponse> {
    return this.serverStream(OxiaClientService.rangeScan, target, request, signal);
  }
  sequenceUpdates(target: string, request: GetSequenceUpdatesRequest, signal: AbortSignal): AsyncIterable<GetSequenceUpdatesResponse> {
    return this.serverStream(OxiaClientService.getSequenceUpdates, target, request, signal);
  }
  notifications(target: string, request: NotificationsRequest, signal: AbortSignal): AsyncIterable<NotificationBatch> {
    return this.serverStream(OxiaClientService.getNotifications, target, request, signal);
  }
  createSession(target: string, request: CreateSessionRequest, signal: AbortSignal): Promise<CreateSessionResponse> {
    return this.unary(OxiaClientService.createSession, target, request, signal);
  }
  async keepAlive(target: string, request: SessionHeartbeat, signal: AbortSignal): Promise<void> {
    await this.unary(OxiaClientService.keepAlive, target, request, signal);
  }
  async closeSession(target: string, request: CloseSessionRequest, signal: AbortSignal): Promise<void> {
    await this.unary(OxiaClientService.closeSession, target, request, signal);
  }

  /** oxia-ts's own backup service (ADR 0030); not part of ClientTransport: only `oxia-ts backup` calls it. */
  copyShard(target: string, request: ReadShardRequest, signal: AbortSignal): AsyncIterable<ReadShardResponse> {
    return this.serverStream(OxiaBackupService.readShard, target, request, signal);
  }

  close(): void {
    this.closed = true;
    // A channel's close() lets its calls run on: the read streams would never end.
    for (const r of this.readStreams?.values() ?? []) r.close();
    this.readStreams?.clear();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
