import { allShards, type ClusterStatus, type ShardMetadata, type SplitMetadata, type SplitPhase } from '../cluster/cluster-status.js';
import { OxiaError } from '../errors/oxia-error.js';
import { defaultSplitPoint, splitRangeAt } from '../sharding/hash-range.js';
import { findShard, withShard, withoutShard, type ShardKey } from './status-edit.js';

/*
 * The phase machine of a shard split (ADR 0025), as pure edits of the cluster status. Each
 * transition is one status write, so a restarted coordinator continues from the phase it
 * finds:
 *
 *   Bootstrap  children recorded (not routed to, no leader); the parent serves as before.
 *   CatchUp    the parent is frozen at parentTermAtBootstrap with its final offset
 *              snapshotOffset; its leader copies each child's part to the child replicas.
 *   Cutover    committed: the children are ordinary shards (elected next, then routed to);
 *              the parent is Deleting.
 *
 * Before the commit a split can be rolled back (abortSplit): nothing a client was acknowledged
 * went to the children. After it, only forward.
 */

/** The term a child replica holds its copy at; its first election is term 1. */
export const SPLIT_CHILD_TERM = 0n;

export interface SplitStart {
  readonly status: ClusterStatus;
  readonly children: readonly [bigint, bigint];
}

/** Records a split of `key` at `splitPoint` (the last hash of the left child; default its middle). */
export function beginSplit(status: ClusterStatus, key: ShardKey, splitPoint: number | undefined): SplitStart {
  const parent = findShard(status, key);
  if (!parent) throw new OxiaError('NotFound', `shard ${key.shard} does not exist in namespace ${key.namespace}`);
  const running = splitsInProgress(status)[0];
  if (running) {
    throw new OxiaError('FailedPrecondition', `shard ${running.parent.shard} of namespace ${running.parent.namespace} is already being split`);
  }
  if (parent.status !== 'SteadyState' || !parent.leader) {
    throw new OxiaError('FailedPrecondition', `shard ${key.shard} has no elected leader (status ${parent.status}): try again once it has`);
  }
  const point = splitPoint ?? defaultSplitPoint(parent.int32HashRange);
  const ranges = splitRangeAt(parent.int32HashRange, point);
  if (!ranges) {
    const { min, max } = parent.int32HashRange;
    throw new OxiaError('InvalidArgument', `split point ${point} is not inside [${min}, ${max - 1}], the range of shard ${key.shard} less its last hash`);
  }
  const left = status.shardIdGenerator;
  const right = left + 1n;
  const common = { phase: 'Bootstrap' as const, splitPoint: point, snapshotOffset: 0n, parentTermAtBootstrap: 0n };
  const child = (range: (typeof ranges)[number]): ShardMetadata => ({
    status: 'Unknown',
    term: SPLIT_CHILD_TERM,
    ensemble: parent.ensemble,
    removedNodes: [],
    pendingDeleteShardNodes: [],
    int32HashRange: range,
    split: { ...common, parentShardId: key.shard, childShardIds: [] },
  });
  let next: ClusterStatus = { ...status, shardIdGenerator: right + 1n };
  next = withShard(next, key, { ...parent, split: { ...common, parentShardId: key.shard, childShardIds: [left, right] } });
  next = withShard(next, { namespace: key.namespace, shard: left }, child(ranges[0]));
  next = withShard(next, { namespace: key.namespace, shard: right }, child(ranges[1]));
  return { status: next, children: [left, right] };
}

/** The parent of a running split with its metadata and children. */
export interface RunningSplit {
  readonly parent: ShardKey;
  readonly split: SplitMetadata;
  readonly children: readonly [ShardKey, ShardKey];
}

/** Every split the status records as running (at most one: beginSplit refuses a second). */
export function splitsInProgress(status: ClusterStatus): RunningSplit[] {
  const out: RunningSplit[] = [];
  for (const { namespace, shard, metadata } of allShards(status)) {
    const split = metadata.split;
    if (!split || split.childShardIds.length !== 2 || split.phase === 'Cutover') continue;
    const [l, r] = split.childShardIds as [bigint, bigint];
    out.push({ parent: { namespace, shard }, split, children: [{ namespace, shard: l }, { namespace, shard: r }] });
  }
  return out;
}

/** A child of a split not committed yet: no controller elects it, clients are not sent to it. */
export function isUncommittedChild(metadata: ShardMetadata): boolean {
  return metadata.split !== undefined && metadata.split.childShardIds.length === 0 && metadata.split.phase !== 'Cutover';
}

/**
 * The parent was frozen at `term` and its log ends at `offset`: CatchUp (again, when a new
 * leader of the parent had to be frozen anew). Undefined when the status no longer fits:
 * the split is gone, or the parent moved on to another term since the freeze.
 */
export function recordFreeze(status: ClusterStatus, running: RunningSplit, term: bigint, offset: bigint): ClusterStatus | undefined {
  const parent = findShard(status, running.parent);
  if (!parent?.split || parent.split.phase === 'Cutover' || parent.term !== term) return undefined;
  return withPhase(status, running, 'CatchUp', { snapshotOffset: offset, parentTermAtBootstrap: term });
}

/**
 * The commit point: the children hold the parent's final state, so they become ordinary
 * shards to elect, and the parent is deleted (phase Cutover until then). Undefined unless the
 * parent is still frozen at the term the copies were made at: a parent re-elected since may
 * have taken writes the copies lack.
 */
export function commitSplit(status: ClusterStatus, running: RunningSplit, frozenTerm: bigint): ClusterStatus | undefined {
  const parent = findShard(status, running.parent);
  const split = parent?.split;
  if (!parent || !split || split.phase !== 'CatchUp' || split.parentTermAtBootstrap !== frozenTerm || parent.term !== frozenTerm) return undefined;
  let next = withShard(status, running.parent, { ...parent, status: 'Deleting', split: { ...split, phase: 'Cutover' } });
  for (const key of running.children) {
    const child = findShard(next, key);
    if (!child) return undefined;
    const { split: _dropped, ...plain } = child;
    next = withShard(next, key, { ...plain, status: 'Election' });
  }
  return next;
}

/**
 * Rolls a split back before its commit (its deadline passed): the parent keeps its range and
 * goes to Election, since a new term is what ends its freeze for sure (its leader may not be
 * reachable to be unfrozen); the children become ordinary shards being deleted, so their
 * controllers remove the copies from the nodes, then the children from the status. Nothing a
 * client was acknowledged went to the children. Undefined after the commit: only forward then.
 */
export function abortSplit(status: ClusterStatus, running: RunningSplit): ClusterStatus | undefined {
  const parent = findShard(status, running.parent);
  if (!parent?.split || parent.split.phase === 'Cutover') return undefined;
  const { split: _dropped, ...plain } = parent;
  let next = withShard(status, running.parent, { ...plain, status: 'Election' });
  for (const key of running.children) {
    const child = findShard(next, key);
    if (!child) continue;
    const { split: _child, ...orphan } = child;
    next = withShard(next, key, { ...orphan, status: 'Deleting' });
  }
  return next;
}

function withPhase(status: ClusterStatus, running: RunningSplit, phase: SplitPhase, fields: Partial<SplitMetadata>): ClusterStatus {
  let next = status;
  for (const key of [running.parent, ...running.children]) {
    const shard = findShard(next, key);
    if (!shard?.split) continue;
    next = withShard(next, key, { ...shard, split: { ...shard.split, ...fields, phase } });
  }
  return next;
}
