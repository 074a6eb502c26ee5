import type {
  DeleteRangeRequest,
  DeleteRangeResponse,
  DeleteRequest,
  DeleteResponse,
  PutRequest,
  PutResponse,
  WriteRequest,
  WriteResponse,
} from '../../../domain/wire/client.js';
import { Batcher, type BatchCompatibility, type BatchLimits } from './batcher.js';
import { leaderMoved, LeaderMoveWatch, movedLeader } from './leader-moves.js';
import { monotonicMs, withRetries } from './retry.js';
import { RpcError } from './rpc-error.js';
import type { ShardDirectory } from './shard-directory.js';
import { shardTarget, untilAborted } from './shard-target.js';
import type { ClientTransport } from './transport.js';
import { WriteStreamChannel } from './write-stream.js';

interface OpBase<R> {
  readonly sizeBytes: number;
  readonly deadlineMs: number;
  resolve(response: R): void;
  reject(error: unknown): void;
}
export interface PutOp extends OpBase<PutResponse> {
  readonly kind: 'put';
  readonly request: PutRequest;
}
export interface DeleteOp extends OpBase<DeleteResponse> {
  readonly kind: 'delete';
  readonly request: DeleteRequest;
}
export interface DeleteRangeOp extends OpBase<DeleteRangeResponse> {
  readonly kind: 'deleteRange';
  readonly request: DeleteRangeRequest;
}
export type WriteOp = PutOp | DeleteOp | DeleteRangeOp;

/**
 * A WriteRequest is applied as all its puts, then all deletes, then all delete ranges.
 * To keep the caller's order, an operation that this reordering could overtake starts
 * a new batch: a put after a delete of the same key or after a delete range, a delete
 * after a delete range. Batches of one shard are sent in order on one stream.
 */
class WriteOrdering implements BatchCompatibility<WriteOp> {
  private readonly deletedKeys = new Set<string>();
  private hasDeleteRange = false;

  conflicts(op: WriteOp): boolean {
    if (op.kind === 'deleteRange') return false;
    if (this.hasDeleteRange) return true;
    return op.kind === 'put' && this.deletedKeys.has(op.request.key);
  }
  added(op: WriteOp): void {
    if (op.kind === 'delete') this.deletedKeys.add(op.request.key);
    else if (op.kind === 'deleteRange') this.hasDeleteRange = true;
  }
  reset(): void {
    this.deletedKeys.clear();
    this.hasDeleteRange = false;
  }
}

export interface WritePathConfig {
  readonly namespace: string;
  readonly limits: BatchLimits;
  readonly requestTimeoutMs: number;
  /**
   * Each batch as its own unary Write call instead of on the shard's WriteStream: with an
   * authentication provider, so that credentials are asked for (and a refreshed token
   * sent) per batch, as the official clients do per call, not once per long-lived stream.
   */
  readonly unaryWrites: boolean;
}

/**
 * Batches writes per shard and sends them over one long-lived WriteStream per shard (or
 * one unary Write per batch, see WritePathConfig.unaryWrites), retrying retryable failures
 * (on a fresh stream, at the hinted leader) until the earliest deadline in the batch.
 */
export class WritePath {
  private readonly batchers = new Map<bigint, Batcher<WriteOp>>();
  private readonly streams = new Map<bigint, WriteStreamChannel>();
  private readonly moves: LeaderMoveWatch;

  constructor(
    private readonly transport: ClientTransport,
    private readonly directory: ShardDirectory,
    private readonly config: WritePathConfig,
    private readonly closed: AbortSignal,
    /** Sends an operation again through routing, when its shard disappeared (split, merge). */
    private readonly reroute: (op: PutOp | DeleteOp) => void,
  ) {
    this.moves = new LeaderMoveWatch(directory);
    directory.onChange(() => this.abandonMovedStreams());
  }

  submit(shard: bigint, op: WriteOp): void {
    let b = this.batchers.get(shard);
    if (b === undefined) {
      b = new Batcher<WriteOp>(this.config.limits, (ops) => this.sendBatch(shard, ops), new WriteOrdering());
      this.batchers.set(shard, b);
    }
    b.add(op);
  }

  /** Sends whatever is waiting and resolves when every submitted write is answered. */
  async flush(): Promise<void> {
    await Promise.all([...this.batchers.values()].map((b) => b.flush()));
  }

  /** Drops the streams (after flush, nothing waits on them). */
  close(): void {
    for (const s of this.streams.values()) s.cancel(new RpcError('Closed', 'client closed'));
    this.streams.clear();
  }

  private async sendBatch(shard: bigint, ops: WriteOp[]): Promise<void> {
    const request: WriteRequest = { shard, puts: [], deletes: [], deleteRanges: [] };
    const puts: PutOp[] = [];
    const deletes: DeleteOp[] = [];
    const ranges: DeleteRangeOp[] = [];
    let deadlineMs = Infinity;
    for (const op of ops) {
      deadlineMs = Math.min(deadlineMs, op.deadlineMs);
      if (op.kind === 'put') {
        puts.push(op);
        request.puts.push(op.request);
      } else if (op.kind === 'delete') {
        deletes.push(op);
        request.deletes.push(op.request);
      } else {
        ranges.push(op);
        request.deleteRanges.push(op.request);
      }
    }
    let response: WriteResponse;
    try {
      response = await withRetries(
        { deadlineMs, timeoutMs: this.config.requestTimeoutMs, closed: this.closed, what: `write of ${ops.length} operation(s) to shard ${shard}` },
        (hint, signal, abandon) => {
          const target = shardTarget(this.directory, shard, hint);
          if (this.config.unaryWrites) return this.moves.run(shard, target, abandon, () => this.transport.write(target, request, signal));
          return untilAborted(this.stream(shard, target).send(request), signal);
        },
      );
      if (response.puts.length !== puts.length || response.deletes.length !== deletes.length || response.deleteRanges.length !== ranges.length) {
        throw new RpcError('Internal', `shard ${shard} answered a write of ${puts.length}/${deletes.length}/${ranges.length} puts/deletes/ranges with ${response.puts.length}/${response.deletes.length}/${response.deleteRanges.length}`);
      }
    } catch (e) {
      const shardGone = e instanceof RpcError && e.kind === 'ShardNotFound' && this.directory.get(shard) === undefined && this.directory.size > 0;
      for (const op of ops) {
        if (shardGone && op.kind !== 'deleteRange' && monotonicMs() < op.deadlineMs) this.reroute(op);
        else op.reject(e);
      }
      return;
    }
    puts.forEach((op, i) => op.resolve(response.puts[i] as PutResponse));
    deletes.forEach((op, i) => op.resolve(response.deletes[i] as DeleteResponse));
    ranges.forEach((op, i) => op.resolve(response.deleteRanges[i] as DeleteRangeResponse));
  }

  /**
   * Streams to a shard's former leader fail their waiting batches as soon as the assignments
   * name another leader (leader-moves.ts): the batches are sent again to the new one.
   */
  private abandonMovedStreams(): void {
    for (const [shard, stream] of this.streams) {
      const to = movedLeader(this.directory, shard, stream.target);
      if (to === undefined) continue;
      this.streams.delete(shard);
      stream.cancel(leaderMoved(shard, stream.target, to));
    }
  }

  /** The shard's stream to `target`: the open one, or a new one when it broke or the leader moved. */
  private stream(shard: bigint, target: string): WriteStreamChannel {
    const current = this.streams.get(shard);
    if (current !== undefined && !current.broken && current.target === target) return current;
    current?.retire();
    const fresh = new WriteStreamChannel(this.transport.openWriteStream(target, shard, this.config.namespace), target);
    this.streams.set(shard, fresh);
    return fresh;
  }
}
