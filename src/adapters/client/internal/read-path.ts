import type { GetRequest, GetResponse } from '../../../domain/wire/client.js';
import { Batcher, type BatchLimits } from './batcher.js';
import { LeaderMoveWatch } from './leader-moves.js';
import { monotonicMs, withRetries } from './retry.js';
import { RpcError } from './rpc-error.js';
import type { ShardDirectory } from './shard-directory.js';
import { shardTarget } from './shard-target.js';
import type { ClientTransport } from './transport.js';

export interface GetOp {
  readonly request: GetRequest;
  readonly sizeBytes: number;
  readonly deadlineMs: number;
  /** Set for single-shard gets routed by key, so they can be rerouted if the shard disappears. */
  readonly routingKey: string | undefined;
  resolve(response: GetResponse): void;
  reject(error: unknown): void;
}

/**
 * Batches gets per shard into Read calls (one server stream per batch; its messages
 * together carry one response per get, in order), with the same retries as writes.
 */
export class ReadPath {
  private readonly batchers = new Map<bigint, Batcher<GetOp>>();
  private readonly moves: LeaderMoveWatch;

  constructor(
    private readonly transport: ClientTransport,
    private readonly directory: ShardDirectory,
    private readonly limits: BatchLimits,
    private readonly requestTimeoutMs: number,
    private readonly closed: AbortSignal,
    private readonly reroute: (op: GetOp) => void,
  ) {
    this.moves = new LeaderMoveWatch(directory);
  }

  submit(shard: bigint, op: GetOp): void {
    let b = this.batchers.get(shard);
    if (b === undefined) {
      b = new Batcher<GetOp>(this.limits, (ops) => this.sendBatch(shard, ops));
      this.batchers.set(shard, b);
    }
    b.add(op);
  }

  async flush(): Promise<void> {
    await Promise.all([...this.batchers.values()].map((b) => b.flush()));
  }

  private async sendBatch(shard: bigint, ops: GetOp[]): Promise<void> {
    const deadlineMs = ops.reduce((d, op) => Math.min(d, op.deadlineMs), Infinity);
    const request = { shard, gets: ops.map((op) => op.request) };
    let gets: GetResponse[];
    try {
      gets = await withRetries(
        { deadlineMs, timeoutMs: this.requestTimeoutMs, closed: this.closed, what: `read of ${ops.length} key(s) from shard ${shard}` },
        (hint, signal, abandon) => {
          const target = shardTarget(this.directory, shard, hint);
          return this.moves.run(shard, target, abandon, () => this.transport.read(target, request, signal));
        },
      );
      if (gets.length !== ops.length) {
        throw new RpcError('Internal', `shard ${shard} answered ${ops.length} gets with ${gets.length} results`);
      }
    } catch (e) {
      const shardGone = e instanceof RpcError && e.kind === 'ShardNotFound' && this.directory.get(shard) === undefined && this.directory.size > 0;
      for (const op of ops) {
        if (shardGone && op.routingKey !== undefined && monotonicMs() < op.deadlineMs) this.reroute(op);
        else op.reject(e);
      }
      return;
    }
    ops.forEach((op, i) => op.resolve(gets[i] as GetResponse));
  }
}
