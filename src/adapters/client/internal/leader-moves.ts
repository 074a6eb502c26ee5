import { RpcError } from './rpc-error.js';
import type { ShardDirectory } from './shard-directory.js';

/** The error a call to a shard's former leader is abandoned with: a not-leader error naming the new one. */
export function leaderMoved(shard: bigint, from: string, to: string): RpcError {
  return new RpcError('NodeIsNotLeader', `shard ${shard} moved from ${from} to ${to} while the call was waiting`, { shard, leader: to });
}

/** The leader the assignments now name for `shard`, when it is another one than `target`. */
export function movedLeader(directory: ShardDirectory, shard: bigint, target: string): string | undefined {
  const leader = directory.get(shard)?.leader;
  // No leader (an election in progress) is no reason to give up on the old one yet.
  return leader !== undefined && leader !== '' && leader !== target ? leader : undefined;
}

interface InFlight {
  readonly target: string;
  readonly abandon: (reason: RpcError) => void;
}

/**
 * Calls in flight to a shard's leader, abandoned as soon as the assignments name another
 * leader: a leader that froze (SIGSTOP, a stalled VM) keeps its connections open and never
 * answers, and a call waiting on it would hold its shard's queue until the request deadline.
 * The abandoned call fails with a not-leader error pointing at the new leader, which the
 * retry loop follows at once.
 */
export class LeaderMoveWatch {
  private readonly calls = new Map<bigint, Set<InFlight>>();

  constructor(private readonly directory: ShardDirectory) {
    directory.onChange(() => this.assignmentsChanged());
  }

  /**
   * Runs `call` against `target`; when the shard's leader moves away from `target` first,
   * `abandon` (withRetries' for the attempt: it aborts the call's signal) is called with a
   * not-leader error naming the new leader.
   */
  run<T>(shard: bigint, target: string, abandon: (reason: RpcError) => void, call: () => Promise<T>): Promise<T> {
    const entry: InFlight = { target, abandon };
    let set = this.calls.get(shard);
    if (set === undefined) {
      set = new Set();
      this.calls.set(shard, set);
    }
    const calls = set;
    calls.add(entry);
    return call().finally(() => calls.delete(entry));
  }

  private assignmentsChanged(): void {
    for (const [shard, set] of this.calls) {
      for (const entry of set) {
        const to = movedLeader(this.directory, shard, entry.target);
        if (to !== undefined) entry.abandon(leaderMoved(shard, entry.target, to));
      }
    }
  }
}
