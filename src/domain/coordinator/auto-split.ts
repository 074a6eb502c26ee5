import type { AutoSplitConfig } from '../cluster/cluster-config.js';
import { allShards, type ClusterStatus } from '../cluster/cluster-status.js';
import { nodeId } from '../cluster/node-address.js';
import { splitsInProgress } from './split.js';
import { shardLabel, type ShardKey } from './status-edit.js';

/*
 * When the coordinator splits a shard on its own (ADR 0025), as Oxia's auto-split monitor:
 * every collection interval it asks the leader of each shard for its ShardStats (GetStatus:
 * store size on disk, cumulative read and write operations), rates the operations between two
 * samples of the same leader, and splits the shard furthest over a threshold once it has stayed
 * over it for the stabilization period; one split at a time, none during the cooldown after the
 * last one started, none beyond maxShardsPerNamespace.
 */

/** What the leader of a shard reported (GetStatus shard_stats), and when (monotonic ms). */
export interface ShardSample {
  readonly leader: string;
  readonly dbSizeBytes: bigint;
  readonly readOpsTotal: bigint;
  readonly writeOpsTotal: bigint;
  readonly atMs: number;
}

/** What the monitor remembers of one shard between samples. */
export interface ShardTracker {
  readonly last: ShardSample;
  /** Reads plus writes per second between the last two samples of the same leader (0 without two). */
  readonly throughputOps: number;
  /** Since when (monotonic ms) the shard has been over a threshold, undefined when it is not. */
  readonly exceedingSinceMs: number | undefined;
}

/** Why no split may start now, or undefined when one may. */
export function autoSplitBlocked(status: ClusterStatus, config: AutoSplitConfig, nowMs: number, lastStartedMs: number | undefined): string | undefined {
  if (!config.enabled) return 'auto split is disabled';
  const running = splitsInProgress(status)[0];
  if (running) return `shard ${shardLabel(running.parent)} is being split`;
  if (lastStartedMs !== undefined && nowMs - lastStartedMs < config.cooldownPeriodMs) return 'cooling down after the last split';
  return undefined;
}

/**
 * The shards worth sampling: led and steady, not part of a split, not deleting replicas, with
 * a hash range of at least two hashes, in a namespace below maxShardsPerNamespace.
 */
export function autoSplitCandidates(status: ClusterStatus, config: AutoSplitConfig): { readonly key: ShardKey; readonly leader: string }[] {
  const out: { key: ShardKey; leader: string }[] = [];
  for (const [namespace, ns] of status.namespaces) {
    if (ns.shards.size >= config.maxShardsPerNamespace) continue;
    for (const [shard, m] of ns.shards) {
      if (m.status !== 'SteadyState' || !m.leader || m.split || m.pendingDeleteShardNodes.length > 0) continue;
      if (m.int32HashRange.max - m.int32HashRange.min < 1) continue;
      out.push({ key: { namespace, shard }, leader: nodeId(m.leader) });
    }
  }
  return out;
}

/**
 * The tracker after one more sample. Operation counters are per process: a rate needs two
 * samples of the same leader with counters that did not go back (a restart resets them).
 */
export function trackSample(previous: ShardTracker | undefined, sample: ShardSample, config: AutoSplitConfig): ShardTracker {
  let throughputOps = 0;
  if (previous && previous.last.leader === sample.leader) {
    const elapsedS = (sample.atMs - previous.last.atMs) / 1000;
    const before = previous.last.readOpsTotal + previous.last.writeOpsTotal;
    const now = sample.readOpsTotal + sample.writeOpsTotal;
    throughputOps = elapsedS > 0 && now >= before ? Number(now - before) / elapsedS : elapsedS > 0 ? 0 : previous.throughputOps;
  }
  const over = overshootRatio(sample.dbSizeBytes, throughputOps, config) > 1;
  return {
    last: sample,
    throughputOps,
    exceedingSinceMs: over ? (previous?.exceedingSinceMs ?? sample.atMs) : undefined,
  };
}

/** How far over its thresholds a shard is: the larger of size / maxShardSizeMb and ops / maxThroughputOps. */
export function overshootRatio(dbSizeBytes: bigint, throughputOps: number, config: AutoSplitConfig): number {
  const sizeMb = Number(dbSizeBytes) / (1024 * 1024);
  const sizeRatio = config.maxShardSizeMb > 0 ? sizeMb / config.maxShardSizeMb : 0;
  const opsRatio = config.maxThroughputOps > 0 ? throughputOps / config.maxThroughputOps : 0;
  return Math.max(sizeRatio, opsRatio);
}

export interface AutoSplitChoice {
  readonly key: ShardKey;
  readonly overshoot: number;
}

/**
 * The shards to split, most overloaded first: over a threshold for at least the stabilization
 * period. The caller starts the first one it can (the next when a start is refused).
 */
export function rankAutoSplits(trackers: ReadonlyMap<string, { readonly key: ShardKey; readonly tracker: ShardTracker }>, config: AutoSplitConfig, nowMs: number): AutoSplitChoice[] {
  const out: AutoSplitChoice[] = [];
  for (const { key, tracker } of trackers.values()) {
    if (tracker.exceedingSinceMs === undefined || nowMs - tracker.exceedingSinceMs < config.stabilizationPeriodMs) continue;
    out.push({ key, overshoot: overshootRatio(tracker.last.dbSizeBytes, tracker.throughputOps, config) });
  }
  return out.sort((a, b) => b.overshoot - a.overshoot);
}

/** Labels of every shard the status holds, to forget the trackers of shards that are gone. */
export function shardLabelsOf(status: ClusterStatus): Set<string> {
  return new Set([...allShards(status)].map(({ namespace, shard }) => shardLabel({ namespace, shard })));
}
