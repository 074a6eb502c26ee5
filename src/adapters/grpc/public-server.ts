/**
 * The public data API over gRPC: OxiaClient (io.oxia.proto.v1), the same handlers under
 * the compat package name (io.streamnative.oxia.proto), and our own additions beside them
 * (oxiats.client.v1 ReadStream, oxiats.backup.v1). Each handler turns the
 * call into a ClientApi call, streams results back at the pace of the client, and
 * ends the call with the status that status-mapping.ts gives the error.
 */
import { status as GrpcCode } from '@grpc/grpc-js';
import type {
  sendUnaryData,
  ServerDuplexStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { inject, injectable } from 'inversify';
import { Authenticator } from '../../application/ports/authenticator.js';
import { Logger } from '../../application/ports/logger.js';
import { AccessControlledApi } from '../../application/security/access-controlled-api.js';
import { Metrics } from '../../application/ports/metrics.js';
import { OxiaError, invalidArgument } from '../../domain/errors/oxia-error.js';
import type {
  CloseSessionRequest,
  CloseSessionResponse,
  CreateSessionRequest,
  CreateSessionResponse,
  GetSequenceUpdatesRequest,
  GetSequenceUpdatesResponse,
  KeepAliveResponse,
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
} from '../../domain/wire/client.js';
import type { ReadShardRequest, ReadShardResponse } from '../../domain/wire/backup.js';
import type { ReadStreamRequest, ReadStreamResponse } from '../../domain/wire/client_extensions.js';
import { callCredentialsOf } from './call-credentials.js';
import { readNamespaceMetadata, readShardIdMetadata } from './call-metadata.js';
import { MalformedRequest } from './malformed-request.js';
import { RpcMetrics, type RpcMethodMetrics } from './rpc-metrics.js';
import { ServerCallTracker } from './server-call-tracker.js';
import type { TrackedCall } from './server-call-tracker.js';
import type { Principal } from '../../domain/security/principal.js';
import { errorToStatus, oxiaErrorToStatus, statusAsMessage } from './status-mapping.js';
import type { GrpcStatusError } from './status-mapping.js';
import { writeRespectingBackpressure } from './stream-writes.js';

/**
 * Writes of one WriteStream that may be in flight at once (submitted, response not
 * yet sent). Reading pauses at this bound, so a client that pipelines faster than
 * the shard commits is slowed by gRPC flow control instead of growing a queue here.
 */
export const WRITE_STREAM_IN_FLIGHT_MAX = 1024;

/**
 * Requests of one ReadStream being answered at once. Reading pauses at this bound, as for
 * WriteStream; oxia-ts's client sends at most two per shard (its read batches in flight).
 */
export const READ_STREAM_IN_FLIGHT_MAX = 256;

const SHUTTING_DOWN = (): OxiaError => new OxiaError('Closed', 'the server is shutting down');

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function requireShard(shard: bigint | undefined): bigint {
  if (shard === undefined) throw invalidArgument('the request must name its shard');
  return shard;
}

@injectable()
export class PublicServiceHandlers {
  private readonly log: Logger;
  private readonly rpcMetrics: RpcMetrics;
  private readonly backupRpcMetrics: RpcMetrics;
  private readonly extensionRpcMetrics: RpcMetrics;

  constructor(
    @inject(AccessControlledApi) private readonly api: AccessControlledApi,
    @inject(Authenticator) private readonly authenticator: Authenticator,
    @inject(ServerCallTracker) private readonly calls: ServerCallTracker,
    @inject(Logger) logger: Logger,
    @inject(Metrics) metrics: Metrics,
  ) {
    this.log = logger.child({ component: 'public-grpc' });
    // The compat service (io.streamnative.oxia.proto) shares these handlers: its calls count here too.
    this.rpcMetrics = new RpcMetrics(metrics, 'io.oxia.proto.v1.OxiaClient');
    this.backupRpcMetrics = new RpcMetrics(metrics, 'oxiats.backup.v1.OxiaBackup');
    this.extensionRpcMetrics = new RpcMetrics(metrics, 'oxiats.client.v1.OxiaTsClient');
  }

  /** Handlers keyed like OxiaClientService; the compat service takes the same object. */
  implementation(): UntypedServiceImplementation {
    return {
      getShardAssignments: (call: ServerWritableStream<ShardAssignmentsRequest, ShardAssignments>) =>
        void this.serveStream(call, 'GetShardAssignments', (caller, signal) => this.api.watchAssignments(caller, call.request.namespace, signal)),
      write: (call: ServerUnaryCall<WriteRequest, WriteResponse>, callback: sendUnaryData<WriteResponse>) =>
        void this.serveUnary(call, callback, 'Write', (caller) => this.api.write(caller, requireShard(call.request.shard), call.request)),
      writeStream: (call: ServerDuplexStream<WriteRequest, WriteResponse>) => this.serveWriteStream(call),
      read: (call: ServerWritableStream<ReadRequest, ReadResponse>) =>
        void this.serveStream(call, 'Read', (caller, signal) => this.api.read(caller, requireShard(call.request.shard), call.request, signal)),
      list: (call: ServerWritableStream<ListRequest, ListResponse>) =>
        void this.serveStream(call, 'List', (caller, signal) => this.api.list(caller, requireShard(call.request.shard), call.request, signal)),
      rangeScan: (call: ServerWritableStream<RangeScanRequest, RangeScanResponse>) =>
        void this.serveStream(call, 'RangeScan', (caller, signal) => this.api.rangeScan(caller, requireShard(call.request.shard), call.request, signal)),
      getSequenceUpdates: (call: ServerWritableStream<GetSequenceUpdatesRequest, GetSequenceUpdatesResponse>) =>
        void this.serveStream(call, 'GetSequenceUpdates', (caller, signal) => this.api.sequenceUpdates(caller, call.request, signal)),
      getNotifications: (call: ServerWritableStream<NotificationsRequest, NotificationBatch>) =>
        void this.serveStream(call, 'GetNotifications', (caller, signal) => this.api.notifications(caller, call.request, signal)),
      createSession: (call: ServerUnaryCall<CreateSessionRequest, CreateSessionResponse>, callback: sendUnaryData<CreateSessionResponse>) =>
        void this.serveUnary(call, callback, 'CreateSession', (caller) => this.api.createSession(caller, call.request)),
      keepAlive: (call: ServerUnaryCall<SessionHeartbeat, KeepAliveResponse>, callback: sendUnaryData<KeepAliveResponse>) =>
        void this.serveUnary(call, callback, 'KeepAlive', async (caller) => {
          await this.api.keepAlive(caller, call.request);
          return {};
        }),
      closeSession: (call: ServerUnaryCall<CloseSessionRequest, CloseSessionResponse>, callback: sendUnaryData<CloseSessionResponse>) =>
        void this.serveUnary(call, callback, 'CloseSession', async (caller) => {
          await this.api.closeSession(caller, call.request);
          return {};
        }),
    };
  }

  /** Handlers keyed like OxiaBackupService (ADR 0030): authenticated and checked as the data calls are. */
  backupImplementation(): UntypedServiceImplementation {
    return {
      readShard: (call: ServerWritableStream<ReadShardRequest, ReadShardResponse>) =>
        void this.serveStream(call, 'ReadShard', (caller, signal) => this.api.copyShard(caller, call.request, signal), this.backupRpcMetrics),
    };
  }

  /** Handlers keyed like OxiaTsClientService (ADR 0034). */
  extensionImplementation(): UntypedServiceImplementation {
    return {
      readStream: (call: ServerDuplexStream<ReadStreamRequest, ReadStreamResponse>) => this.serveReadStream(call),
    };
  }

  /** The caller of a call: the Authenticator's principal, or an Unauthenticated error. */
  private authenticate(call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>): Promise<Principal> {
    return Promise.resolve().then(() => this.authenticator.authenticate(callCredentialsOf(call)));
  }

  private async serveUnary<Req, Res>(
    call: ServerUnaryCall<Req, Res>,
    callback: sendUnaryData<Res>,
    method: string,
    run: (caller: Principal) => Promise<Res>,
  ): Promise<void> {
    const rpc = this.rpcMetrics.method(method, 'unary');
    const started = rpc.started();
    rpc.received();
    let caller: Principal | undefined;
    try {
      caller = await this.authenticate(call);
      callback(null, await run(caller));
      rpc.sent();
      rpc.ended(GrpcCode.OK, started);
    } catch (error) {
      const status = this.statusOf(error, method, call.getPeer(), caller);
      callback(status);
      rpc.ended(status.code, started);
    }
  }

  /** Server-streaming calls: every message the core yields, in order, at the client's pace. */
  private async serveStream<Req, Res>(
    call: ServerWritableStream<Req, Res>,
    method: string,
    produce: (caller: Principal, signal: AbortSignal) => AsyncIterable<Res>,
    metrics: RpcMetrics = this.rpcMetrics,
  ): Promise<void> {
    const rpc = metrics.method(method, 'server_stream');
    const started = rpc.started();
    rpc.received();
    const tracked = this.calls.track(call);
    let caller: Principal | undefined;
    try {
      caller = await this.authenticate(call);
      for await (const message of produce(caller, tracked.signal)) {
        if (tracked.signal.aborted) break;
        await writeRespectingBackpressure(call, message, tracked.signal);
        rpc.sent();
      }
      this.finish(call, tracked, rpc, started, method);
    } catch (error) {
      this.finish(call, tracked, rpc, started, method, error, caller);
    } finally {
      tracked.release();
    }
  }

  /**
   * Ends a streaming call: nothing more to say to a client that cancelled; a
   * shutdown reads as Closed (UNAVAILABLE, so clients reconnect); otherwise OK or the
   * mapped error.
   */
  private finish(
    call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
    tracked: TrackedCall,
    rpc: RpcMethodMetrics,
    startedMs: number,
    method: string,
    error?: unknown,
    caller?: Principal,
  ): void {
    const reason = tracked.reason();
    if (reason === 'cancelled') {
      if (error !== undefined) this.log.debug('stream ended after the client cancelled', { method, error: String(error) });
      rpc.ended(GrpcCode.CANCELLED, startedMs);
      return;
    }
    if (reason === 'shutdown') {
      call.emit('error', oxiaErrorToStatus(SHUTTING_DOWN()));
      rpc.ended(GrpcCode.UNAVAILABLE, startedMs);
      return;
    }
    if (error === undefined) {
      call.end();
      rpc.ended(GrpcCode.OK, startedMs);
      return;
    }
    const status = this.statusOf(error, method, call.getPeer(), caller);
    call.emit('error', status);
    rpc.ended(status.code, startedMs);
  }

  /**
   * WriteStream: shard and namespace come from the call metadata. Requests are
   * submitted as they arrive (so the shard can batch them) and answered strictly in
   * arrival order. The first failure ends the stream with its status. On shutdown
   * no new request is taken, the answers of submitted ones are still sent, then the
   * stream ends as Closed.
   */
  private serveWriteStream(call: ServerDuplexStream<WriteRequest, WriteResponse>): void {
    const rpc = this.rpcMetrics.method('WriteStream', 'bidi_stream');
    const started = rpc.started();
    let shard: bigint;
    let namespace: string;
    try {
      shard = readShardIdMetadata(call.metadata);
      namespace = readNamespaceMetadata(call.metadata);
    } catch (error) {
      call.emit('error', this.statusOf(error, 'WriteStream', call.getPeer()));
      rpc.ended(GrpcCode.INVALID_ARGUMENT, started);
      return;
    }
    const tracked = this.calls.track(call);
    // Requests that arrive before the credentials are verified wait for them.
    const authenticated = settle(this.authenticate(call));
    let caller: Principal | undefined;
    let inFlight = 0;
    let ended = false; // a status was sent (or the client is gone): nothing more to do
    let answers: Promise<void> = Promise.resolve();

    const end = (error?: unknown): void => {
      if (ended) return;
      ended = true;
      call.removeListener('data', onRequest);
      this.finish(call, tracked, rpc, started, 'WriteStream', error, caller);
      tracked.release();
    };
    const onRequest = (request: WriteRequest | MalformedRequest): void => {
      if (ended || tracked.signal.aborted) return;
      rpc.received();
      inFlight++;
      if (inFlight >= WRITE_STREAM_IN_FLIGHT_MAX) call.pause();
      const result = settle(
        request instanceof MalformedRequest
          ? Promise.reject(request.error())
          : authenticated.then((who) => {
              if (!who.ok) throw who.error;
              return this.api.write(who.value, shard, request, namespace);
            }),
      );
      answers = answers.then(async () => {
        const outcome = await result;
        if (ended || tracked.cancelSignal.aborted) return;
        if (!outcome.ok) return end(outcome.error);
        // During shutdown the answers owed for accepted writes must still go out.
        await writeRespectingBackpressure(call, outcome.value, tracked.cancelSignal);
        rpc.sent();
        inFlight--;
        if (call.isPaused() && inFlight < WRITE_STREAM_IN_FLIGHT_MAX && !tracked.signal.aborted) call.resume();
      });
    };
    void authenticated.then((who) => {
      if (who.ok) caller = who.value;
      // Refused: end now rather than when the first request comes.
      else answers = answers.then(() => end(who.error));
    });
    call.on('data', onRequest);
    // grpc-js reports a bad request frame on the call itself; the call is over then.
    call.on('error', (error: unknown) => {
      if (!ended) this.log.debug('write stream failed', { error: String(error) });
    });
    call.on('end', () => {
      answers = answers.then(() => end());
    });
    tracked.signal.addEventListener('abort', () => {
      if (tracked.reason() === 'cancelled') return end();
      // Shutdown: stop taking requests, let the answers already owed go out first.
      call.removeListener('data', onRequest);
      answers = answers.then(() => end());
    });
  }

  /**
   * ReadStream (ADR 0034): each request is one Read call's worth, answered as it would be,
   * under its id; requests are answered concurrently, a failed one with its status, and the
   * stream goes on. The caller is authenticated once, when the stream opens (as WriteStream's
   * is). A malformed request, a refused caller or a shutdown ends the stream with a status;
   * a client that half-closes gets its outstanding answers, then the end.
   */
  private serveReadStream(call: ServerDuplexStream<ReadStreamRequest, ReadStreamResponse>): void {
    const rpc = this.extensionRpcMetrics.method('ReadStream', 'bidi_stream');
    const started = rpc.started();
    const tracked = this.calls.track(call);
    const authenticated = settle(this.authenticate(call));
    let caller: Principal | undefined;
    let inFlight = 0;
    let halfClosed = false;
    let ended = false;

    const end = (error?: unknown): void => {
      if (ended) return;
      ended = true;
      call.removeListener('data', onRequest);
      this.finish(call, tracked, rpc, started, 'ReadStream', error, caller);
      tracked.release();
    };
    const send = async (message: ReadStreamResponse): Promise<void> => {
      if (ended) return;
      await writeRespectingBackpressure(call, message, tracked.signal);
      rpc.sent();
    };
    const answer = async (request: ReadStreamRequest): Promise<void> => {
      const who = await authenticated;
      if (!who.ok) return end(who.error);
      const { id } = request;
      // Each part goes out once the next one exists, so the last carries `last` (no extra message).
      let held: ReadResponse | undefined;
      try {
        if (request.read === undefined) throw invalidArgument(`read stream request ${id} has no read`);
        for await (const response of this.api.read(who.value, requireShard(request.read.shard), request.read, tracked.signal)) {
          if (held !== undefined) await send({ id, response: held, last: false });
          held = response;
        }
        if (!tracked.signal.aborted) await send({ id, response: held ?? { gets: [] }, last: true });
      } catch (error) {
        if (!tracked.signal.aborted) await send({ id, status: statusAsMessage(this.statusOf(error, 'ReadStream', call.getPeer(), who.value)), last: true });
      }
    };
    const onRequest = (request: ReadStreamRequest | MalformedRequest): void => {
      if (ended || tracked.signal.aborted) return;
      rpc.received();
      if (request instanceof MalformedRequest) return end(request.error());
      inFlight++;
      if (inFlight >= READ_STREAM_IN_FLIGHT_MAX) call.pause();
      const answered = (): void => {
        inFlight--;
        if (call.isPaused() && inFlight < READ_STREAM_IN_FLIGHT_MAX && !tracked.signal.aborted) call.resume();
        if (halfClosed && inFlight === 0) end();
      };
      // answer() settles every failure of the read into a status; what escapes it is a bug,
      // which ends the stream (INTERNAL, logged) instead of the process.
      answer(request).then(answered, (error: unknown) => {
        end(error);
        answered();
      });
    };
    void authenticated.then((who) => {
      if (who.ok) caller = who.value;
      else end(who.error); // refused: end now rather than when the first request comes
    });
    call.on('data', onRequest);
    call.on('error', (error: unknown) => {
      if (!ended) this.log.debug('read stream failed', { error: String(error) });
    });
    call.on('end', () => {
      halfClosed = true;
      if (inFlight === 0) end();
    });
    // Cancelled: nothing more to say. Shutdown: reads are cheap to repeat elsewhere, so the
    // stream ends at once as Closed and the client retries what was outstanding.
    tracked.signal.addEventListener('abort', () => end());
  }

  private statusOf(error: unknown, method: string, peer: string, caller?: Principal): GrpcStatusError {
    const principal = caller?.name;
    if (error instanceof OxiaError) {
      // Refused rights are what an operator audits: logged at info. (Refused tokens stay at
      // debug: a client with an expired token retries, and would flood the log.)
      const fields = { method, peer, principal, kind: error.kind, message: error.message };
      if (error.kind === 'PermissionDenied') this.log.info('request refused', fields);
      else this.log.debug('request failed', fields);
    }
    return errorToStatus(error, (unexpected) =>
      this.log.error('unexpected error in a gRPC handler', {
        method,
        peer,
        principal,
        error: unexpected instanceof Error ? (unexpected.stack ?? unexpected.message) : String(unexpected),
      }),
    );
  }
}
