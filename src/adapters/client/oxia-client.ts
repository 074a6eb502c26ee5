import { setMaxListeners } from 'node:events';
import type { DeleteRangeResponse, DeleteResponse, GetRequest, GetResponse, PutRequest, PutResponse, SecondaryIndex } from '../../domain/wire/client.js';
import { Status } from '../../domain/wire/client.js';
import { InvalidOptionsError, KeyNotFoundError, OxiaError, RequestTimeoutError } from './errors.js';
import { GrpcTransport } from './grpc/grpc-transport.js';
import { Admission } from './internal/admission.js';
import type { BatchLimits } from './internal/batcher.js';
import { toGetResult, toVersion } from './internal/convert.js';
import { startDiscovery, type Discovery } from './internal/discovery.js';
import { keyComparator } from '../../domain/keys/key-encoder.js';
import { compareWithSlash } from '../../domain/keys/slash-order.js';
import { NotificationSubscription, type PositioningGate } from './internal/notifications.js';
import { describeGet, describePut, PointGet, PointPut } from './internal/point-ops.js';
import { publicError, statusError } from './internal/public-error.js';
import { ReadPath } from './internal/read-path.js';
import { closedError, monotonicMs } from './internal/retry.js';
import { mergeSorted, scanShard, type ScanContext } from './internal/scan.js';
import { SequenceUpdatesSubscription } from './internal/sequence-updates.js';
import { SessionManager, type SessionLostEvent } from './internal/sessions.js';
import { ShardDirectory, type ShardInfo } from './internal/shard-directory.js';
import type { ClientTransport } from './internal/transport.js';
import { WritePath, type DeleteOp, type PutOp, type WriteOp } from './internal/write-path.js';
import {
  resolveOptions,
  type ClientConfig,
  type DeleteOptions,
  type DeleteRangeOptions,
  type GetOptions,
  type ListOptions,
  type OxiaClientOptions,
  type PutOptions,
  type RangeScanOptions,
  type SequenceUpdatesOptions,
} from './options.js';
import { ComparisonType, type CloseableAsyncIterable, type GetResult, type Notification, type PutResult } from './types.js';

const NO_GET_OPTIONS: GetOptions = Object.freeze({});
const NO_PUT_OPTIONS: PutOptions = Object.freeze({});
/** Shared by every put without sequence deltas or secondary indexes; never modified. */
const NO_DELTAS: bigint[] = [];
const NO_SECONDARY_INDEXES: PutRequest['secondaryIndexes'] = [];

/** Valid comparison types, built once (checked on every get). */
const COMPARISON_TYPES: ReadonlySet<unknown> = new Set(Object.values(ComparisonType));

export type { SessionLostEvent } from './internal/sessions.js';

/**
 * Write batches outstanding per shard; more only queue (see Batcher). One: an idle shard
 * sends a write at once, and while a batch is out the next one fills (up to its count and
 * byte bounds), so a busy shard gets fewer, larger batches. Every batch costs the servers a
 * log entry, a replication round and a store transaction on each replica, whatever its size;
 * measured against a 3-node cluster (RF 3, 1,000 operations in flight), 16 outstanding
 * batches gave about 23,000 writes/s at 70 us of server CPU per write, 2 gave 25,500 at
 * 65 us and 1 gave 28,000-29,000 at 57-59 us. One also keeps a shard's batches in order
 * across retries: a batch is resent before the next one goes.
 */
const WRITE_BATCHES_IN_FLIGHT_PER_SHARD = 1;
/** Read batches outstanding per shard: reads have no order to keep, and a second Read hides a round trip. */
const READ_BATCHES_IN_FLIGHT_PER_SHARD = 2;
/** With batchLingerMs 0 the caller asked for no batching delay: each operation goes at once. */
const MAX_IN_FLIGHT_UNBATCHED_PER_SHARD = 16;

/** Everything a connected client runs on; built by `openClient`. */
interface ClientRuntime {
  readonly config: ClientConfig;
  readonly transport: ClientTransport;
  readonly directory: ShardDirectory;
  readonly discovery: Discovery;
  readonly writes: WritePath;
  readonly reads: ReadPath;
  readonly sessions: SessionManager;
  readonly admission: Admission;
  /** The namespace's key order, to pick the nearest of the shards' answers to a get. */
  readonly keyCompare: (a: string, b: string) => number;
  /** Aborted by close(): stops retries, streams and background loops. */
  readonly stop: AbortController;
  /** Notification subscriptions with shards still positioning (see getNotifications). */
  readonly positioning: PositioningGate;
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

function toValueBuffer(value: string | Uint8Array): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new InvalidOptionsError(`value must be a string or a Uint8Array, got ${typeof value}`);
}

function checkKey(key: unknown, name = 'key'): asserts key is string {
  if (typeof key !== 'string') throw new InvalidOptionsError(`${name} must be a string, got ${typeof key}`);
}

function checkVersionId(v: unknown): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < -1)) {
    throw new InvalidOptionsError(`expectedVersionId must be an integer >= -1, got ${String(v)}`);
  }
}

/**
 * A client of an oxia-ts (or Oxia) cluster, API-compatible with the official Oxia
 * Node.js client: create it with `OxiaClient.connect`, end it with `close()`.
 *
 * Writes and single-key reads are batched per shard (linger, count and byte limits as
 * in Oxia's Go client) and sent to each shard's leader; retryable failures are retried
 * within `requestTimeoutMs`. Calls are safe to issue concurrently.
 *
 * Writes are at least once, as with Oxia's own clients: the protocol has no idempotency key,
 * so a write whose answer was lost (the leader killed after it committed the write) is sent
 * again and may be applied twice. An unconditional put then gets one more version; a delete's
 * resend answers KeyNotFound; a put conditional on a version or on absence is applied at most
 * once, and its resend answers UnexpectedVersionId. Where that matters, make writes conditional
 * and read back after such an error (the real-process nemesis runs of ADR 0032 see exactly this).
 */
export class OxiaClient {
  private closing: Promise<void> | undefined;

  /** @internal Use `OxiaClient.connect`. */
  constructor(private readonly rt: ClientRuntime) {}

  /**
   * Connects to the cluster through `serviceAddress` ("host:port" of any server) and
   * waits for the namespace's shard assignments.
   * @throws OxiaError when no assignments arrive within `initTimeoutMs`, or at once when
   *   the namespace does not exist.
   */
  static async connect(serviceAddress: string, options: OxiaClientOptions = {}): Promise<OxiaClient> {
    const config = resolveOptions(serviceAddress, options);
    return openClient(new GrpcTransport(config.authentication, config.tls), config);
  }

  /**
   * Stores `value` under `key`.
   * @throws UnexpectedVersionIdError when `expectedVersionId` does not match.
   * @throws SessionNotFoundError for an ephemeral put whose session was lost.
   * @throws InvalidOptionsError for options that do not fit together.
   */
  put(key: string, value: string | Uint8Array, options: PutOptions = NO_PUT_OPTIONS): Promise<PutResult> {
    try {
      if (this.closing !== undefined) throw closedError(describePut(key));
      checkKey(key);
      checkVersionId(options.expectedVersionId);
      const deltas = options.sequenceKeysDeltas;
      if (deltas !== undefined) {
        if (!Array.isArray(deltas) || deltas.length === 0) throw new InvalidOptionsError('sequenceKeysDeltas must be a non-empty array');
        if (options.partitionKey === undefined) throw new InvalidOptionsError('sequenceKeysDeltas requires partitionKey');
        if (options.expectedVersionId !== undefined) throw new InvalidOptionsError('sequenceKeysDeltas cannot be combined with expectedVersionId');
        deltas.forEach((d, i) => {
          if (!Number.isSafeInteger(d) || d < 0 || (i === 0 && d === 0)) {
            throw new InvalidOptionsError(`sequenceKeysDeltas must be integers >= 0 with a first delta > 0, got [${deltas.join(', ')}]`);
          }
        });
      }
      const bytes = toValueBuffer(value);
      const request: PutRequest = {
        key,
        value: bytes,
        sequenceKeyDelta: deltas === undefined ? NO_DELTAS : deltas.map((d) => BigInt(d)),
        secondaryIndexes:
          options.secondaryIndexes === undefined
            ? NO_SECONDARY_INDEXES
            : Object.entries(options.secondaryIndexes).map(([indexName, secondaryKey]) => ({ indexName, secondaryKey })),
      };
      if (options.partitionKey !== undefined) request.partitionKey = options.partitionKey;
      if (options.expectedVersionId !== undefined) request.expectedVersionId = BigInt(options.expectedVersionId);
      const sizeBytes = utf8Length(key) + bytes.length;
      const deadlineMs = monotonicMs() + this.rt.config.requestTimeoutMs;
      const shard = this.route(options.partitionKey ?? key, describePut(key)).id;
      const rt = this.rt;
      // The common case, a plain put with nothing to wait for: no async frame; the batch's
      // response settles the returned promise (PointPut). Ephemeral puts need their session first.
      if (options.ephemeral !== true && rt.positioning.size === 0 && rt.admission.tryAcquire(sizeBytes)) {
        return new Promise<PutResult>((resolve, reject) => {
          rt.writes.submit(shard, new PointPut(request, sizeBytes, deadlineMs, rt.admission, resolve, reject));
        });
      }
      return this.putAfterAdmission(request, shard, sizeBytes, deadlineMs, options.ephemeral === true);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** A put that must wait: for admission, notification positioning, or its session (ephemeral). */
  private async putAfterAdmission(request: PutRequest, shard: bigint, sizeBytes: number, deadlineMs: number, ephemeral: boolean): Promise<PutResult> {
    const what = describePut(request.key);
    const admitted = this.admit(sizeBytes, deadlineMs, what, [shard]);
    if (admitted !== undefined) await admitted;
    try {
      if (ephemeral) {
        // The shard may have been split while this put waited: its session lives on the child.
        if (this.rt.directory.get(shard) === undefined) shard = this.rt.directory.shardFor(request.partitionKey ?? request.key).id;
        const session = await this.rt.sessions.session(shard, deadlineMs);
        request.sessionId = session.sessionId;
        request.clientIdentity = this.rt.config.clientIdentifier;
      }
      const response = await new Promise<PutResponse>((resolve, reject) =>
        this.rt.writes.submit(shard, { kind: 'put', request, sizeBytes, deadlineMs, resolve, reject }),
      );
      if (response.status === Status.SESSION_DOES_NOT_EXIST && request.sessionId !== undefined) {
        this.rt.sessions.sessionRejected(shard, request.sessionId);
      }
      const failure = statusError(response.status, what);
      if (failure !== undefined) throw failure;
      return { key: response.key ?? request.key, version: toVersion(response.version, what) };
    } catch (e) {
      throw publicError(e, what);
    } finally {
      this.rt.admission.release(sizeBytes);
    }
  }

  /**
   * Deletes the record at `key`.
   * @returns true if it existed, false if there was no such record.
   * @throws UnexpectedVersionIdError when `expectedVersionId` does not match.
   */
  async delete(key: string, options: DeleteOptions = {}): Promise<boolean> {
    const what = `delete '${key}'`;
    this.checkOpen(what);
    checkKey(key);
    checkVersionId(options.expectedVersionId);
    const request: DeleteOp['request'] = { key };
    if (options.partitionKey !== undefined) request.partitionKey = options.partitionKey;
    if (options.expectedVersionId !== undefined) request.expectedVersionId = BigInt(options.expectedVersionId);
    const response = await this.write<DeleteResponse>(what, utf8Length(key), options.partitionKey ?? key, (resolve, reject, sizeBytes, deadlineMs) => ({
      kind: 'delete',
      request,
      sizeBytes,
      deadlineMs,
      resolve,
      reject,
    }));
    if (response.status === Status.KEY_NOT_FOUND) return false;
    const failure = statusError(response.status, what);
    if (failure !== undefined) throw failure;
    return true;
  }

  /**
   * Deletes every record with a key in [minKeyInclusive, maxKeyExclusive) (in the
   * namespace's key order): on every shard, or only on the partition key's shard.
   */
  async deleteRange(minKeyInclusive: string, maxKeyExclusive: string, options: DeleteRangeOptions = {}): Promise<void> {
    const what = `deleteRange ['${minKeyInclusive}', '${maxKeyExclusive}')`;
    this.checkOpen(what);
    checkKey(minKeyInclusive, 'minKeyInclusive');
    checkKey(maxKeyExclusive, 'maxKeyExclusive');
    const shards = this.shardsFor(options.partitionKey, what);
    const sizeBytes = utf8Length(minKeyInclusive) + utf8Length(maxKeyExclusive);
    const responses = await Promise.all(
      shards.map((shard) =>
        this.write<DeleteRangeResponse>(what, sizeBytes, shard, (resolve, reject, size, deadlineMs) => ({
          kind: 'deleteRange',
          request: { startInclusive: minKeyInclusive, endExclusive: maxKeyExclusive },
          sizeBytes: size,
          deadlineMs,
          resolve,
          reject,
        })),
      ),
    );
    for (const r of responses) {
      const failure = statusError(r.status, what);
      if (failure !== undefined) throw failure;
    }
  }

  /**
   * Reads the record matching `key`. Non-EQUAL comparisons and index lookups ask every
   * shard (unless a partition key is given) and pick the nearest match.
   * @throws KeyNotFoundError when nothing matches.
   */
  get(key: string, options: GetOptions = NO_GET_OPTIONS): Promise<GetResult> {
    try {
      if (this.closing !== undefined) throw closedError(describeGet(key));
      checkKey(key);
      const comparison = options.comparisonType ?? ComparisonType.EQUAL;
      if (!COMPARISON_TYPES.has(comparison)) {
        throw new InvalidOptionsError(`comparisonType must be one of ComparisonType's values, got ${String(comparison)}`);
      }
      const request: GetRequest = { key, includeValue: options.includeValue ?? true, comparisonType: comparison };
      if (options.useIndex !== undefined) request.secondaryIndexName = options.useIndex;
      const singleShard = options.partitionKey !== undefined || (comparison === ComparisonType.EQUAL && options.useIndex === undefined);
      if (!singleShard) return this.getFromAllShards(key, request, comparison);
      // The common case, one shard and nothing to wait for, is the hot path of every read:
      // no async frame; the batch's response settles the returned promise (PointGet).
      const routingKey = options.partitionKey ?? key;
      const shard = this.route(routingKey, describeGet(key)).id;
      const sizeBytes = utf8Length(key);
      const deadlineMs = monotonicMs() + this.rt.config.requestTimeoutMs;
      const rt = this.rt;
      if (rt.positioning.size === 0 && rt.admission.tryAcquire(sizeBytes)) {
        return new Promise<GetResult>((resolve, reject) => {
          rt.reads.submit(shard, new PointGet(request, routingKey, sizeBytes, deadlineMs, rt.admission, resolve, reject));
        });
      }
      return this.getFromShardAfterAdmission(request, shard, routingKey, sizeBytes, deadlineMs);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** A single-shard get that must wait for admission (too much pending, or notifications positioning). */
  private async getFromShardAfterAdmission(request: GetRequest, shard: bigint, routingKey: string, sizeBytes: number, deadlineMs: number): Promise<GetResult> {
    await this.admit(sizeBytes, deadlineMs, describeGet(request.key), [shard]);
    return new Promise<GetResult>((resolve, reject) => {
      this.rt.reads.submit(shard, new PointGet(request, routingKey, sizeBytes, deadlineMs, this.rt.admission, resolve, reject));
    });
  }

  /** A get every shard answers (nearest-key comparisons, index lookups): the nearest match wins. */
  private async getFromAllShards(key: string, request: GetRequest, comparison: ComparisonType): Promise<GetResult> {
    const what = describeGet(key);
    const sizeBytes = utf8Length(key);
    const deadlineMs = monotonicMs() + this.rt.config.requestTimeoutMs;
    const shards = this.rt.directory.all();
    const admitted = this.admit(sizeBytes, deadlineMs, what, shards.map((s) => s.id));
    if (admitted !== undefined) await admitted;
    let responses: GetResponse[];
    try {
      responses = await Promise.all(
        shards.map(
          (shard) =>
            new Promise<GetResponse>((resolve, reject) => {
              this.rt.reads.submit(shard.id, { request, sizeBytes, deadlineMs, routingKey: undefined, resolve, reject });
            }),
        ),
      );
    } catch (e) {
      throw publicError(e, what);
    } finally {
      this.rt.admission.release(sizeBytes);
    }
    let best: GetResponse | undefined;
    for (const r of responses) {
      if (r.status === Status.KEY_NOT_FOUND) continue;
      const failure = statusError(r.status, what);
      if (failure !== undefined) throw failure;
      if (best === undefined) best = r;
      else {
        const c = this.compareRecords(r, best);
        const lowWins = comparison === ComparisonType.EQUAL || comparison === ComparisonType.CEILING || comparison === ComparisonType.HIGHER;
        if (lowWins ? c < 0 : c > 0) best = r;
      }
    }
    if (best === undefined) throw new KeyNotFoundError(`${what}: key not found`);
    return toGetResult(best, key, what);
  }

  /**
   * The keys in [minKeyInclusive, maxKeyExclusive) of all shards, sorted as the official
   * Oxia clients sort them: by `compareWithSlash` (segment by segment, a key ending at a
   * level before keys going deeper), whatever the namespace's key sorting (ADR 0006). The
   * keys of a single shard (a partition key, or a one-shard namespace) come in its order.
   */
  async list(minKeyInclusive: string, maxKeyExclusive: string, options: ListOptions = {}): Promise<string[]> {
    const what = `list ['${minKeyInclusive}', '${maxKeyExclusive}')`;
    this.checkOpen(what);
    checkKey(minKeyInclusive, 'minKeyInclusive');
    checkKey(maxKeyExclusive, 'maxKeyExclusive');
    try {
      const shards = this.shardsFor(options.partitionKey, what);
      const perShard = await Promise.all(
        shards.map(async (shard) => {
          const keys: string[] = [];
          const scan = scanShard(
            {
              shard,
              what: `${what} on shard ${shard}`,
              startInclusive: minKeyInclusive,
              resumable: options.useIndex === undefined,
              open: (target, start, signal) =>
                this.rt.transport.list(
                  target,
                  {
                    shard,
                    startInclusive: start,
                    endExclusive: maxKeyExclusive,
                    includeInternalKeys: options.includeInternalKeys === true,
                    ...(options.useIndex !== undefined ? { secondaryIndexName: options.useIndex } : {}),
                  },
                  signal,
                ),
              items: (m) => m.keys,
              keyOf: (k) => k,
            },
            this.scanContext(),
          );
          for await (const k of scan) keys.push(k);
          return keys;
        }),
      );
      if (perShard.length === 1) return perShard[0] as string[];
      return perShard.flat().sort(compareWithSlash);
    } catch (e) {
      throw publicError(e, what);
    }
  }

  /**
   * The records in [minKeyInclusive, maxKeyExclusive) as an async iterable. The shards'
   * streams are merged as the official Oxia clients merge them: each time the head with the
   * smallest key by `compareWithSlash` is taken (ADR 0006). Each shard streams in its own key
   * order, so unlike `list` the result is not sorted by `compareWithSlash` where that order
   * and the namespace's disagree. A single shard's records come in its order. Records are
   * fetched as the iteration proceeds; leaving the loop early cancels the server streams.
   */
  rangeScan(minKeyInclusive: string, maxKeyExclusive: string, options: RangeScanOptions = {}): AsyncIterable<GetResult> {
    const what = `rangeScan ['${minKeyInclusive}', '${maxKeyExclusive}')`;
    this.checkOpen(what);
    checkKey(minKeyInclusive, 'minKeyInclusive');
    checkKey(maxKeyExclusive, 'maxKeyExclusive');
    const shards = this.shardsFor(options.partitionKey, what);
    return {
      [Symbol.asyncIterator]: () => this.scanRecords(shards, minKeyInclusive, maxKeyExclusive, options.useIndex, options.includeInternalKeys === true, what),
    };
  }

  private async *scanRecords(
    shards: bigint[],
    min: string,
    max: string,
    useIndex: string | undefined,
    includeInternalKeys: boolean,
    what: string,
  ): AsyncGenerator<GetResult, void, undefined> {
    const sources = shards.map((shard) =>
      scanShard(
        {
          shard,
          what: `${what} on shard ${shard}`,
          startInclusive: min,
          resumable: useIndex === undefined,
          open: (target, start, signal) =>
            this.rt.transport.rangeScan(
              target,
              { shard, startInclusive: start, endExclusive: max, includeInternalKeys, ...(useIndex !== undefined ? { secondaryIndexName: useIndex } : {}) },
              signal,
            ),
          items: (m) => m.records,
          keyOf: (r) => r.key ?? '',
        },
        this.scanContext(),
      ),
    );
    const merged = sources.length === 1 ? (sources[0] as AsyncIterable<GetResponse>) : mergeSorted(sources, (a, b) => compareWithSlash(a.key ?? '', b.key ?? ''));
    try {
      for await (const r of merged) yield toGetResult(r, r.key ?? '', what);
    } catch (e) {
      throw publicError(e, what);
    }
  }

  /**
   * Every change in the namespace, as it happens, from all shards. The subscription
   * survives leader changes and server restarts, resuming where it stopped. Writes this
   * client issues after the call are guaranteed to be included; likewise every change
   * made after a `get` this client issues after the call (gets and writes on a shard
   * start once the subscription is positioned on it).
   */
  getNotifications(): CloseableAsyncIterable<Notification> {
    this.checkOpen('getNotifications');
    return new NotificationSubscription(this.rt.transport, this.rt.directory, this.rt.config.logger, this.rt.positioning, this.rt.stop.signal);
  }

  /**
   * The highest key of the sequence `prefixKey` (sequence-key puts with this partition
   * key), each time it advances; a slow consumer gets the latest key.
   */
  getSequenceUpdates(prefixKey: string, options: SequenceUpdatesOptions): CloseableAsyncIterable<string> {
    this.checkOpen('getSequenceUpdates');
    checkKey(prefixKey, 'prefixKey');
    if (typeof options?.partitionKey !== 'string' || options.partitionKey === '') {
      throw new InvalidOptionsError('getSequenceUpdates requires a partitionKey');
    }
    let shard: ShardInfo;
    try {
      shard = this.rt.directory.shardFor(options.partitionKey);
    } catch (e) {
      throw publicError(e, `getSequenceUpdates '${prefixKey}'`);
    }
    return new SequenceUpdatesSubscription(this.rt.transport, this.rt.directory, shard.id, prefixKey, this.rt.config.logger, this.rt.stop.signal);
  }

  /**
   * Registers a listener for sessions that end without `close()` (expired, or unknown
   * to the server): the ephemeral records they held are gone. Returns an unsubscribe.
   */
  onSessionLost(listener: (event: SessionLostEvent) => void): () => void {
    return this.rt.sessions.onSessionLost(listener);
  }

  /**
   * Completes the writes already issued, closes the sessions (the server removes their
   * ephemeral records), ends subscriptions and releases connections. Idempotent; later
   * calls fail with OxiaError.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const rt = this.rt;
    await Promise.all([rt.writes.flush(), rt.reads.flush()]);
    await rt.sessions.close();
    rt.stop.abort();
    rt.writes.close();
    await rt.discovery.stopped;
    rt.transport.close();
  }

  private checkOpen(what: string): void {
    if (this.closing !== undefined) throw closedError(what);
  }

  /**
   * Waits, if needed, until the operation may enter the batching pipeline: after every
   * notification subscription is positioned on the operation's shards (so it sees this
   * operation's effects and everything after), and within the bound on pending
   * operations. Undefined when no waiting is needed.
   */
  private admit(sizeBytes: number, deadlineMs: number, what: string, shards: readonly bigint[]): Promise<void> | undefined {
    const rt = this.rt;
    if (rt.positioning.size === 0 && rt.admission.tryAcquire(sizeBytes)) return undefined;
    return (async () => {
      const waiting = new AbortController();
      let waitingFor = 'too many operations pending';
      const timer = setTimeout(
        () => waiting.abort(new RequestTimeoutError(`${what} did not start within ${rt.config.requestTimeoutMs} ms: ${waitingFor}`)),
        Math.max(0, deadlineMs - monotonicMs()),
      );
      const onStop = () => waiting.abort(closedError(what));
      rt.stop.signal.addEventListener('abort', onStop, { once: true });
      try {
        const positioning = unpositioned(rt.positioning, shards);
        if (positioning.length > 0) {
          waitingFor = 'a notification subscription is not yet positioned on its shard';
          await Promise.race([Promise.all(positioning), new Promise((resolve) => waiting.signal.addEventListener('abort', resolve, { once: true }))]);
          if (waiting.signal.aborted) throw waiting.signal.reason;
          waitingFor = 'too many operations pending';
        }
        await rt.admission.acquire(sizeBytes, waiting.signal);
      } finally {
        clearTimeout(timer);
        rt.stop.signal.removeEventListener('abort', onStop);
      }
    })();
  }

  /** Submits one write operation to the shard (or the routing key's shard) and waits for its response. */
  private async write<R>(
    what: string,
    sizeBytes: number,
    route: string | bigint,
    makeOp: (resolve: (r: R) => void, reject: (e: unknown) => void, sizeBytes: number, deadlineMs: number) => WriteOp,
  ): Promise<R> {
    const deadlineMs = monotonicMs() + this.rt.config.requestTimeoutMs;
    const shard = typeof route === 'bigint' ? route : this.route(route, what).id;
    const admitted = this.admit(sizeBytes, deadlineMs, what, [shard]);
    if (admitted !== undefined) await admitted;
    try {
      return await new Promise<R>((resolve, reject) => this.rt.writes.submit(shard, makeOp(resolve, reject, sizeBytes, deadlineMs)));
    } catch (e) {
      throw publicError(e, what);
    } finally {
      this.rt.admission.release(sizeBytes);
    }
  }

  /** The shard owning `routingKey`; the error says what was being done when none does. */
  private route(routingKey: string, what: string): ShardInfo {
    try {
      return this.rt.directory.shardFor(routingKey);
    } catch (e) {
      throw publicError(e, what);
    }
  }

  private shardsFor(partitionKey: string | undefined, what: string): bigint[] {
    try {
      if (partitionKey !== undefined) return [this.rt.directory.shardFor(partitionKey).id];
      return this.rt.directory.all().map((s) => s.id);
    } catch (e) {
      throw publicError(e, what);
    }
  }

  private scanContext(): ScanContext {
    return { directory: this.rt.directory, requestTimeoutMs: this.rt.config.requestTimeoutMs, closed: this.rt.stop.signal };
  }

  /**
   * Which of the shards' answers to a get is nearer: by secondary key for index results,
   * then by key, in the namespace's order (what a single shard holding all keys would answer).
   */
  private compareRecords(a: GetResponse, b: GetResponse): number {
    if (a.secondaryIndexKey !== undefined && b.secondaryIndexKey !== undefined) {
      const c = this.rt.keyCompare(a.secondaryIndexKey, b.secondaryIndexKey);
      if (c !== 0) return c;
    }
    return this.rt.keyCompare(a.key ?? '', b.key ?? '');
  }
}

/**
 * The shard that owns `routingKey`, numbered as in SessionLostEvent. For the recipes,
 * which must tell whether a lost session is the one holding their record; not part of
 * the package's API.
 */
export function shardOfRoutingKey(client: OxiaClient, routingKey: string): number {
  return Number(client['rt'].directory.shardFor(routingKey).id);
}

/**
 * A put of a restored record (ADR 0030): its secondary index entries as the record held them,
 * where `PutOptions.secondaryIndexes` can give only one secondary key per index. Not part of
 * the package's API; `oxia-ts restore` uses it.
 */
export function putRestoredRecord(
  client: OxiaClient,
  record: { readonly key: string; readonly value: Uint8Array; readonly partitionKey?: string | undefined; readonly secondaryIndexes: readonly SecondaryIndex[] },
): Promise<PutResult> {
  const what = describePut(record.key);
  const request: PutRequest = {
    key: record.key,
    value: Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength),
    sequenceKeyDelta: NO_DELTAS,
    secondaryIndexes: record.secondaryIndexes.map((s) => ({ indexName: s.indexName, secondaryKey: s.secondaryKey })),
  };
  if (record.partitionKey !== undefined) request.partitionKey = record.partitionKey;
  const deadlineMs = monotonicMs() + client['rt'].config.requestTimeoutMs;
  try {
    if (client['closing'] !== undefined) throw closedError(what);
    const shard = client['route'](record.partitionKey ?? record.key, what).id;
    return client['putAfterAdmission'](request, shard, utf8Length(record.key) + request.value.length, deadlineMs, false);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** What operations on `shards` must wait for before they start (see NotificationSubscription). */
function unpositioned(gate: PositioningGate, shards: readonly bigint[]): Promise<void>[] {
  const out: Promise<void>[] = [];
  for (const sub of gate) {
    for (const shard of shards) {
      const p = sub.positioning(shard);
      if (p !== undefined) out.push(p);
    }
  }
  return out;
}

/**
 * Builds a client on `transport` and waits for the first shard assignments. Used by
 * `OxiaClient.connect` with the gRPC transport, and by tests with an in-process one.
 */
export async function openClient(transport: ClientTransport, config: ClientConfig): Promise<OxiaClient> {
  const stop = new AbortController();
  // Every pending retry and admission wait listens to this signal; that many listeners are expected.
  setMaxListeners(0, stop.signal);
  const directory = new ShardDirectory();
  const limits = (maxBytes: number, batchesInFlight: number): BatchLimits => ({
    lingerMs: config.batchLingerMs,
    maxCount: config.maxRequestsPerBatch,
    maxBytes,
    maxInFlight: config.batchLingerMs > 0 ? batchesInFlight : MAX_IN_FLIGHT_UNBATCHED_PER_SHARD,
  });
  const reroute = (op: PutOp | DeleteOp): void => {
    try {
      writes.submit(directory.shardFor(op.request.partitionKey ?? op.request.key).id, op);
    } catch (e) {
      op.reject(e);
    }
  };
  const writes: WritePath = new WritePath(
    transport,
    directory,
    {
      namespace: config.namespace,
      limits: limits(config.maxBatchSizeBytes, WRITE_BATCHES_IN_FLIGHT_PER_SHARD),
      requestTimeoutMs: config.requestTimeoutMs,
      unaryWrites: config.authentication !== undefined,
    },
    stop.signal,
    reroute,
  );
  const reads: ReadPath = new ReadPath(
    transport,
    directory,
    // Gets carry only keys; the byte bound still caps one Read request.
    limits(config.maxBatchSizeBytes, READ_BATCHES_IN_FLIGHT_PER_SHARD),
    config.requestTimeoutMs,
    stop.signal,
    (op) => {
      try {
        reads.submit(directory.shardFor(op.routingKey as string).id, op);
      } catch (e) {
        op.reject(e);
      }
    },
  );
  const discovery = startDiscovery(transport, config.serviceAddress, config.namespace, directory, config.logger, stop.signal);
  const runtime: ClientRuntime = {
    config,
    transport,
    directory,
    discovery,
    writes,
    reads,
    sessions: new SessionManager(
      transport,
      directory,
      {
        sessionTimeoutMs: config.sessionTimeoutMs,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        clientIdentity: config.clientIdentifier,
        requestTimeoutMs: config.requestTimeoutMs,
        logger: config.logger,
      },
      stop.signal,
    ),
    admission: new Admission(config.maxPendingRequests, config.maxPendingBytes),
    keyCompare: keyComparator(config.keySorting),
    stop,
    positioning: new Set(),
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      discovery.ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const last = discovery.lastError();
          const why = last instanceof Error ? `: ${last.message}` : '';
          reject(new OxiaError(`no shard assignments for namespace '${config.namespace}' from ${config.serviceAddress} within ${config.initTimeoutMs} ms${why}`, { kind: 'Unavailable', cause: last }));
        }, config.initTimeoutMs);
      }),
    ]);
  } catch (e) {
    stop.abort();
    await discovery.stopped;
    transport.close();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return new OxiaClient(runtime);
}
