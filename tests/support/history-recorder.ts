// What real clients did and saw, in the history format of the simulator's linearizability
// checker (tests/sim/kv-history.ts): each operation's invocation and completion on one
// monotonic clock (process.hrtime) of this process. As in Jepsen, a write that failed or timed
// out is indeterminate (`unknown`: it may take effect at any time after its invocation, or
// never); a read that failed is left out (it changed nothing).
import type { KvInput, KvOperation, KvOutput } from '../sim/kv-history.js';

/** An invoked operation, to be completed once. */
export interface PendingOperation {
  /** Records the answer. */
  complete(output: KvOutput): void;
  /** Records a failure: a write becomes `unknown`, a read is dropped. */
  fail(): void;
}

interface Invocation {
  readonly id: number;
  readonly client: string;
  readonly shard: bigint;
  readonly input: KvInput;
  readonly callMs: number;
  /** Undefined while pending; null when it was a failed read (dropped). */
  result?: { readonly output: KvOutput; readonly returnMs: number } | null;
}

const SHADOW_SUFFIX = ' (earlier attempt?)';

/** Whether `op` is a retry shadow added by historyToCheck(). */
export const isRetryShadow = (op: KvOperation): boolean => op.client.endsWith(SHADOW_SUFFIX);

export class HistoryRecorder {
  private readonly origin = process.hrtime.bigint();
  private readonly invocations: Invocation[] = [];

  /** Milliseconds since the recorder was made, on the monotonic clock. */
  now(): number {
    return Number(process.hrtime.bigint() - this.origin) / 1e6;
  }

  invoke(client: string, input: KvInput, shard = 0n): PendingOperation {
    const inv: Invocation = { id: this.invocations.length, client, shard, input, callMs: this.now() };
    this.invocations.push(inv);
    return {
      complete: (output) => {
        if (inv.result === undefined) inv.result = { output, returnMs: this.now() };
      },
      fail: () => {
        if (inv.result !== undefined) return;
        inv.result = inv.input.type === 'get' ? null : { output: { type: 'unknown' }, returnMs: Infinity };
      },
    };
  }

  /** Every recorded operation; a write still pending counts as failed (unknown). */
  operations(): KvOperation[] {
    const ops: KvOperation[] = [];
    for (const inv of this.invocations) {
      const result = inv.result === undefined ? (inv.input.type === 'get' ? null : { output: { type: 'unknown' } as const, returnMs: Infinity }) : inv.result;
      if (result === null) continue;
      ops.push({ id: inv.id, client: inv.client, shard: inv.shard, input: inv.input, output: result.output, callMs: inv.callMs, returnMs: result.returnMs });
    }
    return ops;
  }

  /**
   * The history to check: operations() plus, for every write, its retry shadow. The client
   * library resends a write whose stream broke before the answer came (on a fresh stream, at
   * the new leader), and Oxia has no deduplication of writes: the first attempt may already
   * have been applied. So a write may take effect twice (a put gets two versions, a delete
   * answers not-found, a conditional put answers unexpected-version after it succeeded). The
   * shadow is the same write with an unknown outcome that, if it happened, happened before
   * the write's answer: an earlier attempt cannot land after the attempt that was answered,
   * since both are in one leader's log in the order sent or the earlier one was truncated.
   */
  historyToCheck(): KvOperation[] {
    const ops = this.operations();
    let nextId = this.invocations.length;
    const shadows: KvOperation[] = [];
    for (const op of ops) {
      if (op.input.type !== 'put' && op.input.type !== 'delete') continue;
      shadows.push({ ...op, id: nextId++, client: `${op.client}${SHADOW_SUFFIX}`, output: { type: 'unknown' } });
    }
    return [...ops, ...shadows];
  }
}
