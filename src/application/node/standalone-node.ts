import { inject, injectable } from 'inversify';
import { isValidNamespaceName } from '../../domain/sharding/namespace.js';
import { splitHashRange } from '../../domain/sharding/hash-range.js';
import { shardAssignmentsMessage, type ShardPlacement } from '../../domain/sharding/assignments.js';
import { OxiaError, invalidArgument } from '../../domain/errors/oxia-error.js';
import type { DatabaseConfig } from '../../domain/database/api.js';
import type {
  CloseSessionRequest,
  CreateSessionRequest,
  CreateSessionResponse,
  GetSequenceUpdatesRequest,
  GetSequenceUpdatesResponse,
  ListRequest,
  ListResponse,
  NotificationBatch,
  NotificationsRequest,
  RangeScanRequest,
  RangeScanResponse,
  ReadRequest,
  ReadResponse,
  SessionHeartbeat,
  ShardAssignments,
  WriteRequest,
  WriteResponse,
} from '../../domain/wire/client.js';
import type { ReadShardRequest, ReadShardResponse } from '../../domain/wire/backup.js';
import type { ClientApi, ShardNamespace } from '../client-api.js';
import { Clock } from '../ports/clock.js';
import { KvStoreFactory } from '../ports/kv-store.js';
import { Logger } from '../ports/logger.js';
import { Metrics } from '../ports/metrics.js';
import { ReadinessGate } from '../ports/readiness.js';
import type { ShardRef } from '../ports/shard-ref.js';
import { StorageProbe } from '../ports/storage-probe.js';
import { WalFactory } from '../ports/wal.js';
import { LeaderShard } from '../shard/leader-shard.js';
import { ShardMetrics } from '../shard/shard-metrics.js';
import { WriteRecovery } from '../shard/write-recovery.js';
import { FreeSpaceWatch } from './free-space-watch.js';
import { NodeConfig } from './node-config.js';
import { NodeMetrics, type GaugedShard } from './node-metrics.js';

interface HostedShard {
  readonly namespace: string;
  readonly ref: ShardRef;
  readonly config: DatabaseConfig;
  readonly metrics: ShardMetrics;
  /** Replaced when the shard reopens its files after a storage failure. */
  shard: LeaderShard;
  readonly recovery: WriteRecovery;
}

/**
 * A single-process oxia-ts: every shard of every configured namespace is led by this
 * node alone (replication factor 1). Shard ids are assigned in order across
 * namespaces, as Oxia's coordinator does for a fresh cluster.
 */
@injectable()
export class StandaloneNode implements ClientApi {
  private readonly shards = new Map<bigint, HostedShard>();
  private readonly placements = new Map<string, ShardPlacement[]>();
  private retentionTimer: (() => void) | undefined;
  private closed = false;
  private readonly nodeMetrics: NodeMetrics;
  private readonly freeSpace: FreeSpaceWatch;

  constructor(
    @inject(NodeConfig) private readonly config: NodeConfig,
    @inject(WalFactory) private readonly walFactory: WalFactory,
    @inject(KvStoreFactory) private readonly kvFactory: KvStoreFactory,
    @inject(Clock) private readonly clock: Clock,
    @inject(Logger) private readonly log: Logger,
    @inject(Metrics) private readonly metrics: Metrics,
    @inject(StorageProbe) private readonly storage: StorageProbe,
    @inject(ReadinessGate) private readonly readiness: ReadinessGate,
  ) {
    this.nodeMetrics = new NodeMetrics(metrics, clock, () => [...this.shards.values()].map((hosted) => gaugedLeader(hosted)));
    this.freeSpace = new FreeSpaceWatch(storage, clock, log, (shortage) => {
      for (const hosted of this.shards.values()) hosted.recovery.enter(shortage);
    });
  }

  async start(): Promise<void> {
    let nextShardId = 0n;
    for (const ns of this.config.namespaces) {
      if (!isValidNamespaceName(ns.name)) throw invalidArgument(`invalid namespace name "${ns.name}"`);
      const placements: ShardPlacement[] = [];
      for (const range of splitHashRange(ns.initialShardCount)) {
        const ref = { namespace: ns.name, shard: nextShardId++ };
        const config = { keySorting: ns.keySorting, notificationsEnabled: ns.notificationsEnabled, shard: ref.shard };
        const log = this.log.child({ namespace: ns.name, shard: ref.shard.toString() });
        const metrics = ShardMetrics.of(this.metrics, ref);
        const recovery = new WriteRecovery(
          ref,
          { probe: this.storage, clock: this.clock, log, readiness: this.readiness, metrics },
          {
            // Entries already proposed go on (or fail on the same disk); new ones are refused.
            stopWriting: async (cause) => hosted.shard.logPipeline.refuseWrites(cause),
            reopen: async () => {
              await hosted.shard.close();
              hosted.shard = await this.openShard(hosted);
            },
          },
        );
        const hosted: HostedShard = { namespace: ns.name, ref, config, metrics, recovery, shard: undefined as unknown as LeaderShard };
        hosted.shard = await this.openShard(hosted);
        this.shards.set(ref.shard, hosted);
        placements.push({ shard: ref.shard, range, leader: this.config.publicAddress });
      }
      this.placements.set(ns.name, placements);
    }
    this.nodeMetrics.start();
    this.freeSpace.start();
    this.scheduleRetention();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.retentionTimer?.();
    this.freeSpace.close();
    this.nodeMetrics.close();
    for (const hosted of this.shards.values()) hosted.recovery.close();
    await Promise.all([...this.shards.values()].map((s) => s.shard.close()));
  }

  /**
   * Opens the shard's log and store and recovers the store from the log: at start, and again
   * after a storage failure once the disk takes writes (the files left open on failure are closed).
   */
  private async openShard(hosted: Omit<HostedShard, 'shard'>): Promise<LeaderShard> {
    const { ref } = hosted;
    const wal = await this.walFactory.open(ref);
    let kv;
    try {
      kv = await this.kvFactory.open(ref);
    } catch (e) {
      await wal.close().catch(() => undefined);
      throw e;
    }
    try {
      return await LeaderShard.openStandalone(ref, hosted.config, this.config.limits, {
        wal,
        kv,
        clock: this.clock,
        log: this.log.child({ namespace: ref.namespace, shard: ref.shard.toString() }),
        metrics: hosted.metrics,
        onStorageFailure: (error) => hosted.recovery.enter(error),
      });
    } catch (e) {
      await wal.close().catch(() => undefined);
      await kv.close().catch(() => undefined);
      throw e;
    }
  }

  async *watchAssignments(namespace: string, signal: AbortSignal): AsyncIterable<ShardAssignments> {
    const name = namespace === '' ? 'default' : namespace;
    const placements = this.placements.get(name);
    if (!placements) throw new OxiaError('NamespaceNotFound', `namespace "${name}" does not exist`);
    yield shardAssignmentsMessage(new Map([[name, placements]]));
    // A standalone node's assignments never change: hold the stream open until the client leaves.
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  write(shard: bigint, request: WriteRequest, namespace?: string): Promise<WriteResponse> {
    return this.shard(shard, namespace).write(request);
  }

  read(shard: bigint, request: ReadRequest, signal: AbortSignal): AsyncIterable<ReadResponse> {
    return this.shard(shard).read(request, signal);
  }

  list(shard: bigint, request: ListRequest, signal: AbortSignal): AsyncIterable<ListResponse> {
    return this.shard(shard).list(request, signal);
  }

  rangeScan(shard: bigint, request: RangeScanRequest, signal: AbortSignal): AsyncIterable<RangeScanResponse> {
    return this.shard(shard).rangeScan(request, signal);
  }

  sequenceUpdates(request: GetSequenceUpdatesRequest, signal: AbortSignal): AsyncIterable<GetSequenceUpdatesResponse> {
    return this.shard(request.shard).sequenceUpdates(request.key, signal);
  }

  notifications(request: NotificationsRequest, signal: AbortSignal): AsyncIterable<NotificationBatch> {
    return this.shard(request.shard).notifications(request.startOffsetExclusive, signal);
  }

  async createSession(request: CreateSessionRequest, owner?: string): Promise<CreateSessionResponse> {
    const sessionId = await this.shard(request.shard).createSession(request.sessionTimeoutMs, request.clientIdentity, owner);
    return { sessionId };
  }

  async keepAlive(request: SessionHeartbeat, caller?: string): Promise<void> {
    this.shard(request.shard).keepAlive(request.sessionId, caller);
  }

  closeSession(request: CloseSessionRequest, caller?: string): Promise<void> {
    return this.shard(request.shard).closeSession(request.sessionId, caller);
  }

  copyShard(request: ReadShardRequest, signal: AbortSignal): AsyncIterable<ReadShardResponse> {
    return this.shard(request.shard, request.namespace).copy(request.includeEphemeral, signal);
  }

  shardNamespace(shard: bigint, namespace?: string): ShardNamespace {
    const leader = this.shard(shard, namespace);
    return { namespace: leader.ref.namespace, keySorting: leader.keySorting };
  }

  private shard(id: bigint, namespace?: string): LeaderShard {
    if (this.closed) throw new OxiaError('Closed', 'the server is shutting down');
    const hosted = this.shards.get(id);
    if (!hosted) throw new OxiaError('ShardNotFound', `shard ${id} does not exist on this node`);
    if (namespace !== undefined && namespace !== '' && namespace !== hosted.namespace) {
      throw new OxiaError('NamespaceNotFound', `shard ${id} does not belong to namespace "${namespace}"`);
    }
    return hosted.shard;
  }

  private scheduleRetention(): void {
    if (this.closed) return;
    this.retentionTimer = this.clock.schedule(this.config.retentionCheckIntervalMs, () => {
      void (async () => {
        for (const { shard, recovery } of this.shards.values()) {
          if (recovery.cause) continue;
          try {
            await shard.applyRetention(this.config.walRetentionMs, this.config.notificationsRetentionMs);
          } catch (e) {
            this.log.warn('retention pass failed', { shard: shard.ref.shard.toString(), error: String(e) });
          }
        }
        this.scheduleRetention();
      })();
    });
  }
}

/** A standalone shard always leads, alone: no followers. */
function gaugedLeader(hosted: HostedShard): GaugedShard {
  return {
    gauges: () => {
      const shard = hosted.shard;
      return {
      ref: shard.ref,
      role: 'Leader',
      headOffset: shard.logPipeline.headEntryId.offset,
      commitOffset: shard.committedOffset,
      sessions: shard.sessionCount,
      followers: [],
      walEntries: shard.walEntries,
      };
    },
    storeSizeBytes: () => hosted.shard.storeSizeBytes(),
  };
}
