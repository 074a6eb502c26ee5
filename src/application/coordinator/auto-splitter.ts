import type { AutoSplitConfig } from '../../domain/cluster/cluster-config.js';
import type { ClusterStatus } from '../../domain/cluster/cluster-status.js';
import { nodeId } from '../../domain/cluster/node-address.js';
import {
  autoSplitBlocked,
  autoSplitCandidates,
  rankAutoSplits,
  shardLabelsOf,
  trackSample,
  type ShardTracker,
} from '../../domain/coordinator/auto-split.js';
import { findShard, shardLabel, type ShardKey } from '../../domain/coordinator/status-edit.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { StorageNodeClient } from '../ports/storage-node-client.js';

/** As Oxia: a leader that does not answer its GetStatus in this long is left out of this round. */
const STATS_TIMEOUT_MS = 5_000;

export interface AutoSplitterContext {
  readonly client: StorageNodeClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly status: () => ClusterStatus;
  readonly config: () => AutoSplitConfig;
  /** Starts a split (Coordinator.splitShard); rejects when the shard cannot be split now. */
  readonly split: (key: ShardKey) => Promise<readonly [bigint, bigint]>;
}

/**
 * One round of the automatic split (ADR 0025, domain/coordinator/auto-split.ts): samples the
 * leaders' ShardStats through GetStatus, the call the coordinator already makes to check a
 * shard's members, and starts the split the domain ranks first. The coordinator runs a round
 * every collection interval of the cluster config in force.
 */
export class AutoSplitter {
  private readonly trackers = new Map<string, { key: ShardKey; tracker: ShardTracker }>();
  private lastStartedMs: number | undefined;

  constructor(private readonly ctx: AutoSplitterContext) {}

  async round(signal: AbortSignal): Promise<void> {
    const config = this.ctx.config();
    const blocked = autoSplitBlocked(this.ctx.status(), config, this.ctx.clock.monotonicMs(), this.lastStartedMs);
    if (blocked) {
      if (!config.enabled) this.trackers.clear();
      return;
    }
    const candidates = autoSplitCandidates(this.ctx.status(), config);
    const sampled = new Set((await Promise.all(candidates.map((c) => this.sample(c.key, signal)))).filter((l) => l !== undefined));
    const present = shardLabelsOf(this.ctx.status());
    for (const label of [...this.trackers.keys()]) if (!present.has(label)) this.trackers.delete(label);
    if (signal.aborted) return;

    // Only shards sampled in this round: a leader that did not answer may have moved or shrunk.
    const fresh = new Map([...this.trackers].filter(([label]) => sampled.has(label)));
    const now = this.ctx.clock.monotonicMs();
    for (const choice of rankAutoSplits(fresh, config, now)) {
      try {
        const children = await this.ctx.split(choice.key);
        this.lastStartedMs = now;
        this.trackers.delete(shardLabel(choice.key));
        this.ctx.log.info('auto split: started', { shard: shardLabel(choice.key), overshoot: choice.overshoot, children: children.map(String) });
        return;
      } catch (e) {
        this.ctx.log.warn('auto split: could not start a split; trying the next shard', { shard: shardLabel(choice.key), error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  /** Samples the shard's leader; answers the shard's label when it answered. */
  private async sample(key: ShardKey, signal: AbortSignal): Promise<string | undefined> {
    const leader = findShard(this.ctx.status(), key)?.leader;
    if (!leader) return undefined;
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(STATS_TIMEOUT_MS)]);
    try {
      const r = await this.ctx.client.getStatus(leader, { shard: key.shard }, timeout);
      const stats = r.shardStats;
      if (!stats) return undefined;
      const label = shardLabel(key);
      const sample = {
        leader: nodeId(leader),
        dbSizeBytes: stats.dbSizeBytes,
        readOpsTotal: stats.readOpsTotal,
        writeOpsTotal: stats.writeOpsTotal,
        atMs: this.ctx.clock.monotonicMs(),
      };
      this.trackers.set(label, { key, tracker: trackSample(this.trackers.get(label)?.tracker, sample, this.ctx.config()) });
      return label;
    } catch (e) {
      this.ctx.log.debug('auto split: no stats from the leader', { shard: shardLabel(key), error: e instanceof Error ? e.message : String(e) });
      return undefined;
    }
  }
}
