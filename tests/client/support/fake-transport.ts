/**
 * An in-process stand-in for an Oxia cluster behind the client's transport port, for
 * unit tests of routing, batching, retries and backpressure. Each shard keeps its
 * records in a sorted in-memory map; every request is recorded; failures, delays and
 * leader moves are injected through hooks. Not a server: no persistence, no replication.
 */
import { splitHashRange, type HashRange } from '../../../src/domain/sharding/hash-range.js';
import { routingHash as hashOf } from '../../../src/domain/sharding/hash.js';
import {
  ShardKeyRouter,
  Status,
  KeyComparisonType,
  NotificationType,
  type CloseSessionRequest,
  type CreateSessionRequest,
  type CreateSessionResponse,
  type GetRequest,
  type GetResponse,
  type GetSequenceUpdatesRequest,
  type GetSequenceUpdatesResponse,
  type ListRequest,
  type ListResponse,
  type NotificationBatch,
  type NotificationsRequest,
  type RangeScanRequest,
  type RangeScanResponse,
  type ReadRequest,
  type ReadResponse,
  type SessionHeartbeat,
  type ShardAssignments,
  type ShardAssignmentsRequest,
  type Version,
  type WriteRequest,
  type WriteResponse,
} from '../../../src/domain/wire/client.js';
import { keyComparator } from '../../../src/domain/keys/key-encoder.js';

const compareHierarchical = keyComparator('hierarchical');
import { RpcError } from '../../../src/adapters/client/internal/rpc-error.js';
import type { ClientTransport, DuplexCall } from '../../../src/adapters/client/internal/transport.js';

export interface StoredRecord {
  value: Buffer;
  version: Version;
}

interface FakeShard {
  id: bigint;
  range: HashRange;
  leader: string;
  records: Map<string, StoredRecord>;
  notifications: NotificationBatch[];
  offset: bigint;
  changed: Set<() => void>;
}

export interface RecordedCall<T> {
  target: string;
  shard: bigint;
  request: T;
}

/** Returns an error to fail the call with, or undefined to let it through; may wait first. */
export type Hook<T> = (call: RecordedCall<T>) => RpcError | undefined | Promise<RpcError | undefined>;

function deferredSignal(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

export class FakeCluster implements ClientTransport {
  readonly shards = new Map<bigint, FakeShard>();
  readonly writes: RecordedCall<WriteRequest>[] = [];
  readonly reads: RecordedCall<ReadRequest>[] = [];
  readonly lists: RecordedCall<ListRequest>[] = [];
  readonly scans: RecordedCall<RangeScanRequest>[] = [];
  readonly writeStreamsOpened: { target: string; shard: bigint; namespace: string }[] = [];
  /** Write calls made as unary Write (the rest went over WriteStreams). */
  unaryWrites = 0;
  readonly sessions = new Map<bigint, { shard: bigint; timeoutMs: number; identity: string; heartbeats: number }>();
  onWrite: Hook<WriteRequest> | undefined;
  onRead: Hook<ReadRequest> | undefined;
  onList: Hook<ListRequest> | undefined;
  onKeepAlive: Hook<SessionHeartbeat> | undefined;
  /** Runs before a notifications stream reads the shard's current offset. */
  beforeNotifications: (() => Promise<void>) | undefined;
  readonly notificationRequests: NotificationsRequest[] = [];
  private notificationBreaks = 0;
  /** Fails every call to these addresses with Unavailable (a dead server). */
  readonly down = new Set<string>();
  /** Keys per List/RangeScan message, so results span several messages. */
  chunkSize = 2;
  private nextVersion = 1n;
  private nextSession = 100n;
  private readonly assignmentWatchers = new Set<() => void>();
  private readonly openStreams = new Set<{ shard: bigint; fail(e: RpcError): void }>();
  closed = false;

  constructor(shardCount: number, leaders: string[] = ['server-a:1']) {
    splitHashRange(shardCount).forEach((range, i) => {
      this.shards.set(BigInt(i), {
        id: BigInt(i),
        range,
        leader: leaders[i % leaders.length] as string,
        records: new Map(),
        notifications: [],
        offset: -1n,
        changed: new Set(),
      });
    });
  }

  // ---- test controls ---------------------------------------------------------------

  /** Moves a shard's leadership and announces it through the assignments stream. */
  moveLeader(shard: bigint, leader: string): void {
    this.shard(shard).leader = leader;
    for (const w of this.assignmentWatchers) w();
  }

  /** Breaks every open WriteStream of the shard (as a crashed connection would). */
  breakWriteStreams(shard: bigint): void {
    for (const s of this.openStreams) if (s.shard === shard) s.fail(new RpcError('Unavailable', 'connection reset'));
  }

  /** Fails every open notifications stream, as a server restart would. */
  breakNotificationStreams(): void {
    this.notificationBreaks++;
    for (const s of this.shards.values()) for (const c of s.changed) c();
  }

  expireSession(id: bigint): void {
    const s = this.sessions.get(id);
    if (s === undefined) return;
    this.sessions.delete(id);
    const shard = this.shard(s.shard);
    for (const [k, r] of shard.records) if (r.version.sessionId === id) this.apply(shard, k, undefined);
  }

  shardOf(key: string): FakeShard {
    for (const s of this.shards.values()) {
      // Same routing as the client, via the domain functions it uses.
      if (s.range.min <= hashOf(key) && hashOf(key) <= s.range.max) return s;
    }
    throw new Error('no shard');
  }

  // ---- transport -------------------------------------------------------------------

  private shard(id: bigint): FakeShard {
    const s = this.shards.get(id);
    if (s === undefined) throw new RpcError('ShardNotFound', `shard ${id} not found`);
    return s;
  }

  private checkTarget(target: string, shard: bigint): void {
    if (this.down.has(target)) throw new RpcError('Unavailable', `${target} is down`);
    const s = this.shard(shard);
    if (s.leader !== target) throw new RpcError('NodeIsNotLeader', `${target} is not the leader of shard ${shard}`, { shard, leader: s.leader });
  }

  private assignments(): ShardAssignments {
    return {
      namespaces: {
        default: {
          shardKeyRouter: ShardKeyRouter.XXHASH3,
          assignments: [...this.shards.values()].map((s) => ({
            shard: s.id,
            leader: s.leader,
            shardBoundaries: { $case: 'int32HashRange' as const, value: { minHashInclusive: s.range.min, maxHashInclusive: s.range.max } },
          })),
        },
      },
      allowedAuthorities: [],
    };
  }

  async *shardAssignments(target: string, request: ShardAssignmentsRequest, signal: AbortSignal): AsyncIterable<ShardAssignments> {
    if (this.down.has(target)) throw new RpcError('Unavailable', `${target} is down`);
    if (request.namespace !== 'default') throw new RpcError('NamespaceNotFound', `namespace ${request.namespace} not found`);
    let wake: (() => void) | undefined;
    let changed = false;
    const watcher = () => {
      changed = true;
      wake?.();
    };
    this.assignmentWatchers.add(watcher);
    try {
      yield this.assignments();
      while (!signal.aborted) {
        if (!changed) {
          await Promise.race([new Promise<void>((r) => (wake = r)), deferredSignal(signal)]).catch(() => {});
          continue;
        }
        changed = false;
        yield this.assignments();
      }
    } finally {
      this.assignmentWatchers.delete(watcher);
    }
  }

  async write(target: string, request: WriteRequest, signal: AbortSignal): Promise<WriteResponse> {
    const shard = request.shard ?? -1n;
    const call = { target, shard, request };
    this.writes.push(call);
    this.unaryWrites++;
    const apply = async (): Promise<WriteResponse> => {
      this.checkTarget(target, shard);
      const injected = await this.onWrite?.(call);
      if (injected !== undefined) throw injected;
      return this.applyWrite(shard, request);
    };
    return Promise.race([apply(), deferredSignal(signal)]);
  }

  openWriteStream(target: string, shard: bigint, namespace: string): DuplexCall<WriteRequest, WriteResponse> {
    this.writeStreamsOpened.push({ target, shard, namespace });
    const out: (WriteResponse | RpcError)[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let failure: RpcError | undefined;
    let chain = Promise.resolve();
    const entry = {
      shard,
      fail: (e: RpcError) => {
        failure ??= e;
        wake?.();
      },
    };
    this.openStreams.add(entry);
    const push = (r: WriteResponse | RpcError) => {
      out.push(r);
      wake?.();
    };
    const self = this;
    return {
      write: (request) => {
        const call = { target, shard, request };
        self.writes.push(call);
        // Requests on one stream are processed in order, as a server does.
        chain = chain.then(async () => {
          try {
            self.checkTarget(target, shard);
            const injected = await self.onWrite?.(call);
            if (injected !== undefined) throw injected;
            push(self.applyWrite(shard, request));
          } catch (e) {
            push(e instanceof RpcError ? e : new RpcError('Internal', String(e)));
          }
        });
      },
      responses: (async function* () {
        try {
          for (;;) {
            if (failure !== undefined) throw failure;
            const next = out.shift();
            if (next instanceof RpcError) throw next; // a stream error ends the call
            if (next !== undefined) {
              yield next;
              continue;
            }
            if (ended) return;
            await new Promise<void>((r) => (wake = r));
          }
        } finally {
          self.openStreams.delete(entry);
        }
      })(),
      end: () => {
        void chain.then(() => {
          ended = true;
          wake?.();
        });
      },
      cancel: () => entry.fail(new RpcError('Unavailable', 'cancelled')),
    };
  }

  async read(target: string, request: ReadRequest, signal: AbortSignal): Promise<GetResponse[]> {
    const out: GetResponse[] = [];
    for await (const r of this.readMessages(target, request, signal)) out.push(...r.gets);
    return out;
  }

  /** A Read call's response messages (two per call: the transport joins them). */
  private async *readMessages(target: string, request: ReadRequest, signal: AbortSignal): AsyncIterable<ReadResponse> {
    const shard = request.shard ?? -1n;
    const call = { target, shard, request };
    this.reads.push(call);
    this.checkTarget(target, shard);
    const injected = await Promise.race([this.onRead?.(call), deferredSignal(signal)]);
    if (injected !== undefined) throw injected;
    const gets = request.gets.map((g) => this.get(this.shard(shard), g));
    // Two messages, to check that the client joins them.
    const half = Math.ceil(gets.length / 2);
    yield { gets: gets.slice(0, half) };
    if (gets.length > half) yield { gets: gets.slice(half) };
  }

  async *list(target: string, request: ListRequest, signal: AbortSignal): AsyncIterable<ListResponse> {
    const shard = request.shard ?? -1n;
    const call = { target, shard, request };
    this.lists.push(call);
    this.checkTarget(target, shard);
    const injected = await Promise.race([this.onList?.(call), deferredSignal(signal)]);
    if (injected !== undefined) throw injected;
    const keys = this.sortedKeys(this.shard(shard), request.startInclusive, request.endExclusive);
    for (let i = 0; i < keys.length; i += this.chunkSize) yield { keys: keys.slice(i, i + this.chunkSize) };
  }

  async *rangeScan(target: string, request: RangeScanRequest, _signal: AbortSignal): AsyncIterable<RangeScanResponse> {
    const shard = request.shard ?? -1n;
    this.scans.push({ target, shard, request });
    this.checkTarget(target, shard);
    const s = this.shard(shard);
    const keys = this.sortedKeys(s, request.startInclusive, request.endExclusive);
    for (let i = 0; i < keys.length; i += this.chunkSize) {
      yield {
        records: keys.slice(i, i + this.chunkSize).map((k) => {
          const r = s.records.get(k) as StoredRecord;
          return { status: Status.OK, key: k, value: r.value, version: r.version };
        }),
      };
    }
  }

  async *sequenceUpdates(_target: string, _request: GetSequenceUpdatesRequest, _signal: AbortSignal): AsyncIterable<GetSequenceUpdatesResponse> {
    throw new RpcError('Internal', 'sequence updates are not simulated');
  }

  async *notifications(target: string, request: NotificationsRequest, signal: AbortSignal): AsyncIterable<NotificationBatch> {
    this.notificationRequests.push(request);
    this.checkTarget(target, request.shard);
    await this.beforeNotifications?.();
    const breaks = this.notificationBreaks;
    const s = this.shard(request.shard);
    let after = request.startOffsetExclusive;
    if (after === undefined) {
      after = s.offset;
      yield { shard: s.id, offset: after, timestamp: 0n, notifications: [] };
    }
    let wake: (() => void) | undefined;
    const onChange = () => wake?.();
    s.changed.add(onChange);
    try {
      while (!signal.aborted) {
        if (this.notificationBreaks !== breaks) throw new RpcError('Unavailable', 'server went away');
        const pending = s.notifications.filter((b) => b.offset > (after as bigint));
        if (pending.length === 0) {
          await Promise.race([new Promise<void>((r) => (wake = r)), deferredSignal(signal)]).catch(() => {});
          continue;
        }
        for (const b of pending) {
          yield b;
          after = b.offset;
        }
      }
    } finally {
      s.changed.delete(onChange);
    }
  }

  async createSession(target: string, request: CreateSessionRequest, _signal: AbortSignal): Promise<CreateSessionResponse> {
    this.checkTarget(target, request.shard);
    const id = this.nextSession++;
    this.sessions.set(id, { shard: request.shard, timeoutMs: request.sessionTimeoutMs, identity: request.clientIdentity, heartbeats: 0 });
    return { sessionId: id };
  }

  async keepAlive(target: string, request: SessionHeartbeat, _signal: AbortSignal): Promise<void> {
    this.checkTarget(target, request.shard);
    const injected = await this.onKeepAlive?.({ target, shard: request.shard, request });
    if (injected !== undefined) throw injected;
    const s = this.sessions.get(request.sessionId);
    if (s === undefined) throw new RpcError('SessionNotFound', `session ${request.sessionId} not found`);
    s.heartbeats++;
  }

  async closeSession(target: string, request: CloseSessionRequest, _signal: AbortSignal): Promise<void> {
    this.checkTarget(target, request.shard);
    if (!this.sessions.has(request.sessionId)) throw new RpcError('SessionNotFound', `session ${request.sessionId} not found`);
    this.expireSession(request.sessionId);
  }

  close(): void {
    this.closed = true;
  }

  // ---- the shard's state machine ---------------------------------------------------

  private sortedKeys(s: FakeShard, start: string, end: string): string[] {
    return [...s.records.keys()].filter((k) => compareHierarchical(k, start) >= 0 && compareHierarchical(k, end) < 0).sort(compareHierarchical);
  }

  private apply(s: FakeShard, key: string, record: StoredRecord | undefined, batch?: NotificationBatch): void {
    const existed = s.records.has(key);
    if (record === undefined) s.records.delete(key);
    else s.records.set(key, record);
    const own = batch ?? { shard: s.id, offset: s.offset + 1n, timestamp: 0n, notifications: [] };
    own.notifications.push({
      key,
      value:
        record === undefined
          ? { type: NotificationType.KEY_DELETED }
          : { type: existed ? NotificationType.KEY_MODIFIED : NotificationType.KEY_CREATED, versionId: record.version.versionId },
    });
    if (batch === undefined) this.publish(s, own);
  }

  private publish(s: FakeShard, batch: NotificationBatch): void {
    if (batch.notifications.length === 0) return;
    s.offset = batch.offset;
    s.notifications.push(batch);
    for (const c of s.changed) c();
  }

  private applyWrite(shardId: bigint, request: WriteRequest): WriteResponse {
    const s = this.shard(shardId);
    const batch: NotificationBatch = { shard: s.id, offset: s.offset + 1n, timestamp: 0n, notifications: [] };
    const now = BigInt(Date.now());
    const response: WriteResponse = { puts: [], deletes: [], deleteRanges: [] };
    for (const p of request.puts) {
      const old = s.records.get(p.key);
      const expected = p.expectedVersionId;
      if (expected !== undefined && (expected === -1n ? old !== undefined : old?.version.versionId !== expected)) {
        response.puts.push({ status: Status.UNEXPECTED_VERSION_ID });
        continue;
      }
      if (p.sessionId !== undefined && !this.sessions.has(p.sessionId)) {
        response.puts.push({ status: Status.SESSION_DOES_NOT_EXIST });
        continue;
      }
      const version: Version = {
        versionId: this.nextVersion++,
        modificationsCount: old === undefined ? 0n : old.version.modificationsCount + 1n,
        createdTimestamp: old?.version.createdTimestamp ?? now,
        modifiedTimestamp: now,
        ...(p.sessionId !== undefined ? { sessionId: p.sessionId, clientIdentity: p.clientIdentity ?? '' } : {}),
      };
      this.apply(s, p.key, { value: Buffer.from(p.value), version }, batch);
      response.puts.push({ status: Status.OK, version });
    }
    for (const d of request.deletes) {
      const old = s.records.get(d.key);
      if (old === undefined) response.deletes.push({ status: Status.KEY_NOT_FOUND });
      else if (d.expectedVersionId !== undefined && old.version.versionId !== d.expectedVersionId) response.deletes.push({ status: Status.UNEXPECTED_VERSION_ID });
      else {
        this.apply(s, d.key, undefined, batch);
        response.deletes.push({ status: Status.OK });
      }
    }
    for (const r of request.deleteRanges) {
      for (const k of this.sortedKeys(s, r.startInclusive, r.endExclusive)) this.apply(s, k, undefined, batch);
      response.deleteRanges.push({ status: Status.OK });
    }
    this.publish(s, batch);
    return response;
  }

  private get(s: FakeShard, g: GetRequest): GetResponse {
    const keys = [...s.records.keys()].sort(compareHierarchical);
    let key: string | undefined;
    switch (g.comparisonType) {
      case KeyComparisonType.EQUAL:
        key = s.records.has(g.key) ? g.key : undefined;
        break;
      case KeyComparisonType.FLOOR:
        key = keys.filter((k) => compareHierarchical(k, g.key) <= 0).pop();
        break;
      case KeyComparisonType.LOWER:
        key = keys.filter((k) => compareHierarchical(k, g.key) < 0).pop();
        break;
      case KeyComparisonType.CEILING:
        key = keys.find((k) => compareHierarchical(k, g.key) >= 0);
        break;
      case KeyComparisonType.HIGHER:
        key = keys.find((k) => compareHierarchical(k, g.key) > 0);
        break;
    }
    if (key === undefined) return { status: Status.KEY_NOT_FOUND };
    const r = s.records.get(key) as StoredRecord;
    return { status: Status.OK, key, version: r.version, ...(g.includeValue ? { value: r.value } : {}) };
  }
}
