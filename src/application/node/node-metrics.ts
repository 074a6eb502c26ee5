/**
 * The node-wide gauges of a storage node, read from its shards when Prometheus scrapes
 * (and only then): each shard's role, head and commit offsets, live sessions, each
 * follower's acknowledged offset and lag behind the leader's head, the entries each log
 * holds, and each store's size on disk. Nothing here runs on the data path. The series are rebuilt whole at each
 * scrape, so a shard that left the node, or a follower that left a shard, disappears.
 */
import type { ShardRoleKind } from '../../domain/replication/shard-role.js';
import type { Clock } from '../ports/clock.js';
import type { Metrics } from '../ports/metrics.js';
import type { ShardGauges } from '../shard/replica-controller.js';
import { SHARD_LABELS, shardLabels } from '../shard/shard-metrics.js';

/** A hosted shard as the node's metrics see it. */
export interface GaugedShard {
  gauges(): ShardGauges;
  storeSizeBytes(): Promise<bigint>;
}

/**
 * Stores' sizes are file sizes (a few stat calls per shard): read at most this often,
 * however often the node is scraped.
 */
export const STORE_SIZE_REFRESH_MS = 5_000;

const ROLE_LABEL: Readonly<Record<ShardRoleKind, string>> = {
  Leader: 'leader',
  Follower: 'follower',
  Fenced: 'fenced',
  NotMember: 'not_member',
};

export class NodeMetrics {
  private readonly role;
  private readonly headOffset;
  private readonly commitOffset;
  private readonly sessions;
  private readonly followerAckOffset;
  private readonly followerLag;
  private readonly storeSize;
  private readonly walEntries;
  private readonly storeSizes = new Map<string, number>();
  private storeSizesAtMs = Number.NEGATIVE_INFINITY;
  private unregister: (() => void) | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly clock: Clock,
    private readonly shards: () => Iterable<GaugedShard>,
  ) {
    const shard = SHARD_LABELS;
    this.role = metrics.gauge('oxia_server_shard_role', 'The role of each shard replica on this node: 1 for its current role (leader, follower, fenced, not_member)', [...shard, 'role']);
    this.headOffset = metrics.gauge('oxia_server_head_offset', 'Offset of the newest entry in the shard replica\'s log', shard);
    this.commitOffset = metrics.gauge('oxia_server_commit_offset', 'Offset up to which the shard replica has committed entries (a follower: applied)', shard);
    this.sessions = metrics.gauge('oxia_server_sessions_active', 'Live client sessions of the shards this node leads', shard);
    this.followerAckOffset = metrics.gauge(
      'oxia_server_follower_ack_offset',
      'On a leader: the offset each follower acknowledged as durable',
      [...shard, 'follower'],
    );
    this.followerLag = metrics.gauge(
      'oxia_server_follower_lag_entries',
      "On a leader: entries between its log's head and what each follower acknowledged",
      [...shard, 'follower'],
    );
    this.storeSize = metrics.gauge('oxia_server_kv_size_bytes', "Approximate size on disk of the shard replica's key-value store", shard);
    this.walEntries = metrics.gauge('oxia_server_wal_entries', "Entries the shard replica's log holds (not yet trimmed)", shard);
  }

  start(): void {
    this.unregister ??= this.metrics.onScrape(() => this.refresh());
  }

  close(): void {
    this.unregister?.();
    this.unregister = undefined;
  }

  private async refresh(): Promise<void> {
    const shards = [...this.shards()];
    await this.refreshStoreSizes(shards);
    // Everything below is synchronous: a concurrent scrape never sees the gauges half rebuilt.
    for (const gauge of [this.role, this.headOffset, this.commitOffset, this.sessions, this.followerAckOffset, this.followerLag, this.storeSize, this.walEntries]) {
      gauge.reset();
    }
    for (const shard of shards) {
      const g = shard.gauges();
      const labels = shardLabels(g.ref);
      this.role.set({ ...labels, role: ROLE_LABEL[g.role] }, 1);
      this.headOffset.set(labels, Number(g.headOffset));
      this.commitOffset.set(labels, Number(g.commitOffset));
      this.walEntries.set(labels, Number(g.walEntries));
      if (g.role === 'Leader') this.sessions.set(labels, g.sessions);
      for (const { follower, ackOffset } of g.followers) {
        this.followerAckOffset.set({ ...labels, follower }, Number(ackOffset));
        this.followerLag.set({ ...labels, follower }, Number(g.headOffset - ackOffset));
      }
      const size = this.storeSizes.get(labels.shard);
      if (size !== undefined) this.storeSize.set(labels, size);
    }
  }

  private async refreshStoreSizes(shards: readonly GaugedShard[]): Promise<void> {
    const nowMs = this.clock.monotonicMs();
    const ids = shards.map((s) => s.gauges().ref.shard.toString());
    const missing = ids.some((id) => !this.storeSizes.has(id));
    if (!missing && nowMs - this.storeSizesAtMs < STORE_SIZE_REFRESH_MS) return;
    this.storeSizesAtMs = nowMs;
    const sizes = await Promise.all(
      // A store closing meanwhile (shutdown, deletion) has no size: it is left out.
      shards.map((s) => s.storeSizeBytes().then(Number, () => undefined)),
    );
    this.storeSizes.clear();
    sizes.forEach((size, i) => {
      if (size !== undefined) this.storeSizes.set(ids[i]!, size);
    });
  }
}
