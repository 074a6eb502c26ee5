import { RpcError, type LeaderHint } from './rpc-error.js';
import type { ShardDirectory } from './shard-directory.js';

/**
 * The server to send a shard's request to: the leader a not-leader error just named
 * (remembered in the directory for later requests), else the assigned leader.
 */
export function shardTarget(directory: ShardDirectory, shard: bigint, hint: LeaderHint | undefined): string {
  if (hint !== undefined && hint.shard === shard) directory.noteLeaderHint(hint);
  const leader = directory.leaderOf(shard);
  if (leader === undefined || leader === '') {
    // A shard assigned without a leader is being elected (a new shard, a split's child): retry.
    if (directory.get(shard) !== undefined) throw new RpcError('ResourceUnavailable', `shard ${shard} has no leader yet`);
    throw new RpcError('ShardNotFound', `shard ${shard} is not in the current assignments`);
  }
  return leader;
}

/** Rejects with the signal's reason when it aborts before `promise` settles. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
