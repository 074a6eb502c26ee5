// A client written only from Oxia's published protocol: the generated message codecs and
// the gRPC service tables, nothing from the oxia-ts client library. End-to-end tests use
// it to check the server exactly as Oxia's own clients see it.
import * as grpc from '@grpc/grpc-js';
import { OxiaClientService, OxiaClientCompatService } from '../../src/adapters/grpc-protocol/service-definitions.js';
import {
  CloseSessionRequest,
  CreateSessionRequest,
  DeleteRangeRequest,
  DeleteRequest,
  GetRequest,
  KeyComparisonType,
  ListRequest,
  NotificationsRequest,
  PutRequest,
  RangeScanRequest,
  ShardAssignmentsRequest,
  type GetResponse,
  type NotificationBatch,
  type ShardAssignments,
  type WriteRequest,
  type WriteResponse,
} from '../../src/domain/wire/client.js';
import { routingHash } from '../../src/domain/sharding/hash.js';
import { ErrorInfo, Status as RpcStatus } from '../../src/domain/wire/rpc_status.js';

type AnyClient = grpc.Client & { [K in keyof typeof OxiaClientService]: (...args: any[]) => any };

export interface ShardInfo {
  shard: bigint;
  min: number;
  max: number;
  leader: string;
}

export class RawOxiaClient {
  readonly client: AnyClient;

  /** `callMetadata` goes with every call (e.g. `{ authorization: 'Bearer <jwt>' }`). */
  constructor(readonly address: string, compat = false, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), callMetadata: Record<string, string> = {}) {
    const Ctor = grpc.makeGenericClientConstructor(compat ? OxiaClientCompatService : OxiaClientService, 'OxiaClient');
    const addMetadata: grpc.Interceptor = (options, next) =>
      new grpc.InterceptingCall(next(options), {
        start(metadata, listener, start) {
          for (const [k, v] of Object.entries(callMetadata)) metadata.set(k, v);
          start(metadata, listener);
        },
      });
    this.client = new Ctor(address, credentials, { interceptors: [addMetadata] }) as unknown as AnyClient;
  }

  close(): void {
    this.client.close();
  }

  /** The first ShardAssignments message of the stream, then the stream is cancelled. */
  assignments(namespace = 'default'): Promise<ShardAssignments> {
    return new Promise((resolve, reject) => {
      const call = this.client.getShardAssignments(ShardAssignmentsRequest.fromPartial({ namespace }));
      call.on('data', (m: ShardAssignments) => {
        resolve(m);
        call.cancel();
      });
      call.on('error', (e: grpc.ServiceError) => {
        if (e.code !== grpc.status.CANCELLED) reject(e);
      });
    });
  }

  async shards(namespace = 'default'): Promise<ShardInfo[]> {
    const a = await this.assignments(namespace);
    return (a.namespaces[namespace]?.assignments ?? []).map((s) => ({
      shard: s.shard,
      leader: s.leader,
      min: s.shardBoundaries?.value.minHashInclusive ?? -1,
      max: s.shardBoundaries?.value.maxHashInclusive ?? -1,
    }));
  }

  static shardFor(shards: ShardInfo[], key: string): bigint {
    const h = routingHash(key);
    const s = shards.find((x) => h >= x.min && h <= x.max);
    if (!s) throw new Error(`no shard for ${key}`);
    return s.shard;
  }

  write(request: WriteRequest, metadata?: grpc.Metadata): Promise<WriteResponse> {
    return new Promise((resolve, reject) =>
      this.client.write(request, metadata ?? new grpc.Metadata(), (e: grpc.ServiceError | null, r: WriteResponse) => (e ? reject(e) : resolve(r))),
    );
  }

  /** Sends requests over one WriteStream and collects the responses in order. */
  writeStream(shard: bigint | undefined, namespace: string | undefined, requests: WriteRequest[]): Promise<WriteResponse[]> {
    const md = new grpc.Metadata();
    if (shard !== undefined) md.set('shard-id', shard.toString());
    if (namespace !== undefined) md.set('namespace', namespace);
    return new Promise((resolve, reject) => {
      const call = this.client.writeStream(md);
      const out: WriteResponse[] = [];
      call.on('data', (r: WriteResponse) => {
        out.push(r);
        if (out.length === requests.length) {
          call.end();
          resolve(out);
        }
      });
      call.on('error', reject);
      for (const r of requests) call.write(r);
      if (requests.length === 0) call.end();
    });
  }

  put(shard: bigint, p: Partial<PutRequest>): Promise<WriteResponse> {
    return this.write({ shard, puts: [PutRequest.fromPartial(p)], deletes: [], deleteRanges: [] });
  }

  del(shard: bigint, d: Partial<DeleteRequest>): Promise<WriteResponse> {
    return this.write({ shard, puts: [], deletes: [DeleteRequest.fromPartial(d)], deleteRanges: [] });
  }

  deleteRange(shard: bigint, startInclusive: string, endExclusive: string): Promise<WriteResponse> {
    return this.write({ shard, puts: [], deletes: [], deleteRanges: [DeleteRangeRequest.fromPartial({ startInclusive, endExclusive })] });
  }

  async read(shard: bigint, gets: Array<Partial<GetRequest>>): Promise<GetResponse[]> {
    const out: GetResponse[] = [];
    for (const m of await collect<{ gets: GetResponse[] }>(this.client.read({ shard, gets: gets.map((g) => GetRequest.fromPartial(g)) }))) out.push(...m.gets);
    return out;
  }

  async get(shard: bigint, key: string, comparisonType = KeyComparisonType.EQUAL, extra: Partial<GetRequest> = {}): Promise<GetResponse> {
    const [r] = await this.read(shard, [{ key, includeValue: true, comparisonType, ...extra }]);
    if (!r) throw new Error('no response');
    return r;
  }

  async list(shard: bigint, startInclusive: string, endExclusive: string, extra: Partial<ListRequest> = {}): Promise<string[]> {
    const msgs = await collect<{ keys: string[] }>(this.client.list(ListRequest.fromPartial({ shard, startInclusive, endExclusive, ...extra })));
    return msgs.flatMap((m) => m.keys);
  }

  async rangeScan(shard: bigint, startInclusive: string, endExclusive: string, extra: Partial<RangeScanRequest> = {}): Promise<GetResponse[]> {
    const msgs = await collect<{ records: GetResponse[] }>(this.client.rangeScan(RangeScanRequest.fromPartial({ shard, startInclusive, endExclusive, ...extra })));
    return msgs.flatMap((m) => m.records);
  }

  createSession(shard: bigint, sessionTimeoutMs: number, clientIdentity = 'test'): Promise<bigint> {
    return new Promise((resolve, reject) =>
      this.client.createSession(CreateSessionRequest.fromPartial({ shard, sessionTimeoutMs, clientIdentity }), (e: grpc.ServiceError | null, r: { sessionId: bigint }) =>
        e ? reject(e) : resolve(r.sessionId),
      ),
    );
  }

  keepAlive(shard: bigint, sessionId: bigint): Promise<void> {
    return new Promise((resolve, reject) => this.client.keepAlive({ shard, sessionId }, (e: grpc.ServiceError | null) => (e ? reject(e) : resolve())));
  }

  closeSession(shard: bigint, sessionId: bigint): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.closeSession(CloseSessionRequest.fromPartial({ shard, sessionId }), (e: grpc.ServiceError | null) => (e ? reject(e) : resolve())),
    );
  }

  /** Opens a notifications stream; `next(n)` waits for n more batches with a deadline. */
  notifications(shard: bigint, startOffsetExclusive?: bigint): StreamReader<NotificationBatch> {
    const req = NotificationsRequest.fromPartial(startOffsetExclusive === undefined ? { shard } : { shard, startOffsetExclusive });
    return new StreamReader(this.client.getNotifications(req));
  }

  sequenceUpdates(shard: bigint, key: string): StreamReader<{ highestSequenceKey: string }> {
    return new StreamReader(this.client.getSequenceUpdates({ shard, key }));
  }
}

export class StreamReader<T> {
  private readonly items: T[] = [];
  private error: grpc.ServiceError | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly call: grpc.ClientReadableStream<T>) {
    call.on('data', (m: T) => {
      this.items.push(m);
      this.wake?.();
    });
    call.on('error', (e: grpc.ServiceError) => {
      this.error = e;
      this.wake?.();
    });
  }

  /** Waits until `count` items were received in all (not counting ones already taken). */
  async take(count: number, timeoutMs = 10_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.items.length < count) {
      if (this.error) throw this.error;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${count} stream items, got ${this.items.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.items.splice(0, count);
  }

  /** Waits for the stream to fail and returns its error. */
  async failure(timeoutMs = 10_000): Promise<grpc.ServiceError> {
    const deadline = Date.now() + timeoutMs;
    while (!this.error) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for the stream to fail');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.error;
  }

  get pending(): number {
    return this.items.length;
  }

  cancel(): void {
    this.call.cancel();
  }
}

export function collect<T>(call: grpc.ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    call.on('data', (m: T) => out.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

/** Decodes the google.rpc.ErrorInfo that Oxia servers attach to error statuses. */
export function errorInfo(e: grpc.ServiceError): ErrorInfo | undefined {
  const raw = e.metadata?.get('grpc-status-details-bin')?.[0];
  if (!raw) return undefined;
  const status = RpcStatus.decode(raw as Buffer);
  const any = status.details.find((d) => d.typeUrl.endsWith('google.rpc.ErrorInfo'));
  return any ? ErrorInfo.decode(any.value) : undefined;
}

export async function expectGrpcError(p: Promise<unknown>, code: grpc.status, pattern?: RegExp): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (e) {
    const err = e as grpc.ServiceError;
    if (err.code !== code) throw new Error(`expected gRPC code ${grpc.status[code]}, got ${grpc.status[err.code]}: ${err.message}`);
    if (pattern && !pattern.test(err.details ?? err.message)) throw new Error(`error message "${err.details}" does not match ${pattern}`);
    return err;
  }
  throw new Error(`expected gRPC error ${grpc.status[code]}, the call succeeded`);
}
