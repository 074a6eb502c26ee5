import { RandomSource } from '../ports/random-source.js';
import { SPLIT_CHILD_TERM } from '../../domain/coordinator/split.js';
import { inject, injectable, optional } from 'inversify';
import type { TermOptions } from '../../domain/database/api.js';
import { OxiaError, invalidArgument } from '../../domain/errors/oxia-error.js';
import { INVALID_ENTRY_ID, type EntryId } from '../../domain/wal/log-entry.js';
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
import {
  HandshakeStatus,
  KeySortingType,
  ServingStatus,
  type AddFollowerRequest,
  type BecomeLeaderRequest,
  type DeleteShardRequest,
  type FreezeShardRequest,
  type FreezeShardResponse,
  type RemoveObserverRequest,
  type GetInfoResponse,
  type GetStatusRequest,
  type GetStatusResponse,
  type HandshakeRequest,
  type HandshakeResponse,
  type NewTermOptions,
  type NewTermRequest,
  type NewTermResponse,
  type TruncateRequest,
  type TruncateResponse,
} from '../../domain/wire/replication.js';
import type { ShardRoleKind } from '../../domain/replication/shard-role.js';
import { DEFAULT_NAMESPACE } from '../../domain/sharding/namespace.js';
import type { ReadShardRequest, ReadShardResponse } from '../../domain/wire/backup.js';
import type { ClientApi, ShardNamespace } from '../client-api.js';
import { Clock } from '../ports/clock.js';
import { KvStoreFactory } from '../ports/kv-store.js';
import { Logger } from '../ports/logger.js';
import { Metrics } from '../ports/metrics.js';
import { ReadinessGate } from '../ports/readiness.js';
import { ReplicationClient, type AckSender, type AppendMessage, type ReplicationTarget, type SnapshotChunkMessage } from '../ports/replication-client.js';
import { ShardTombstones } from '../ports/shard-tombstones.js';
import { StorageProbe } from '../ports/storage-probe.js';
import { WalFactory } from '../ports/wal.js';
import { Broadcast } from '../shard/broadcast.js';
import type { LeaderShard } from '../shard/leader-shard.js';
import { ReplicaController, type ReplicaControllerDeps } from '../shard/replica-controller.js';
import { FreeSpaceWatch } from './free-space-watch.js';
import { NodeMetrics } from './node-metrics.js';
import type { CoordinationApi, ReplicationApi } from './storage-node-api.js';
import { StorageNodeConfig } from './storage-node-config.js';

const SERVING_STATUS: Readonly<Record<ShardRoleKind, ServingStatus>> = {
  NotMember: ServingStatus.NOT_MEMBER,
  Fenced: ServingStatus.FENCED,
  Follower: ServingStatus.FOLLOWER,
  Leader: ServingStatus.LEADER,
};

/**
 * `oxia-ts server`: a storage node of a replicated cluster. It hosts the shards the
 * coordinator places on it, each in a ReplicaController that plays the role the
 * coordinator (NewTerm, BecomeLeader, ...) and the shard's leader (Truncate, Replicate,
 * SendSnapshot) give it. Clients are served by the leader of each shard; this node
 * answers the others with NODE_IS_NOT_LEADER and a hint from the coordinator's
 * assignments, which it also streams to clients.
 *
 * Shards are opened when a protocol call first names them (as Oxia does): after a
 * restart, the coordinator's NewTerm or the leader's reconnecting Replicate stream
 * reopens each from its files, with the term it had persisted.
 *
 * The node is not ready (readiness probe) until the coordinator's first shard
 * assignments arrived, as in Oxia: before that it cannot route a single client.
 *
 * `oxia-ts standalone` is this node too, its shards led at replication factor 1 by a
 * coordinator inside the process (local-coordinator.ts, ADR 0033).
 */
@injectable()
export class StorageNode implements ClientApi, CoordinationApi, ReplicationApi {
  /** Opening or open controllers by shard id (ids are unique across namespaces). */
  private readonly controllers = new Map<bigint, Promise<ReplicaController>>();
  private readonly open = new Map<bigint, ReplicaController>();
  private assignments: ShardAssignments | undefined;
  private leaders = new Map<bigint, string>();
  private readonly assignmentsChanged = new Broadcast();
  private instanceId: string | undefined;
  private retentionTimer: (() => void) | undefined;
  private closed = false;
  private readonly deps: ReplicaControllerDeps;
  private readonly nodeMetrics: NodeMetrics;
  private readonly assigned: () => void;
  private readonly freeSpace: FreeSpaceWatch;

  constructor(
    @inject(StorageNodeConfig) private readonly config: StorageNodeConfig,
    @inject(WalFactory) walFactory: WalFactory,
    @inject(KvStoreFactory) kvFactory: KvStoreFactory,
    @inject(ReplicationClient) replication: ReplicationClient,
    @inject(Clock) private readonly clock: Clock,
    @inject(Logger) private readonly log: Logger,
    @inject(Metrics) metrics: Metrics,
    @inject(ReadinessGate) readiness: ReadinessGate,
    @inject(StorageProbe) storage: StorageProbe,
    /** Shards DeleteShard removed from this node, also in earlier runs (shard ids are never reused). */
    @inject(ShardTombstones) private readonly deletedShards: ShardTombstones,
    @inject(RandomSource) @optional() random: RandomSource = Math.random,
  ) {
    // Before this node serves anything: a replica cannot remember the lease probes its previous
    // run received, so it counts this moment as its last one (domain/replication/read-lease.ts).
    const startedAtMs = clock.monotonicMs();
    const soleReplica = config.soleNode === true;
    this.deps = { walFactory, kvFactory, replication, clock, log, limits: config.limits, metrics, startedAtMs, storage, readiness, random, soleReplica, integrity: config.integrity };
    this.freeSpace = new FreeSpaceWatch(storage, clock, log, (shortage) => {
      for (const controller of this.open.values()) controller.storageFailed(shortage);
    });
    this.nodeMetrics = new NodeMetrics(metrics, clock, () => this.open.values());
    this.assigned = readiness.require('the first shard assignments from the coordinator');
  }

  start(): void {
    this.nodeMetrics.start();
    this.freeSpace.start();
    this.scheduleRetention();
  }

  /** Stops every shard (leaders fail their pending writes, followers end their streams) and closes their files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.retentionTimer?.();
    this.freeSpace.close();
    this.nodeMetrics.close();
    this.assignmentsChanged.notify();
    const all = [...this.controllers.values()].map((p) =>
      p.then(
        (c) => c.close(),
        () => undefined,
      ),
    );
    await Promise.all(all);
  }

  // ---- coordination ---------------------------------------------------------------

  pushAssignments(assignments: ShardAssignments): void {
    const leaders = new Map<bigint, string>();
    for (const ns of Object.values(assignments.namespaces)) {
      for (const a of ns.assignments) if (a.leader !== '') leaders.set(a.shard, a.leader);
    }
    if (this.assignments === undefined) this.log.info('first shard assignments received: ready');
    this.assignments = assignments;
    this.leaders = leaders;
    this.assignmentsChanged.notify();
    this.assigned();
  }

  async newTerm(request: NewTermRequest): Promise<NewTermResponse> {
    const controller = await this.controller(request.namespace, request.shard);
    const head = await controller.newTerm(request.term, termOptionsOf(request.options), request.previousLeaderFenced ?? false);
    return { headEntryId: head };
  }

  async becomeLeader(request: BecomeLeaderRequest, signal: AbortSignal): Promise<void> {
    const controller = await this.controller(request.namespace, request.shard);
    const followers = new Map<string, EntryId>();
    for (const [name, head] of Object.entries(request.followerMaps)) followers.set(name, head ?? INVALID_ENTRY_ID);
    await controller.becomeLeader(request.term, request.replicationFactor, followers, signal);
  }

  async addFollower(request: AddFollowerRequest, signal?: AbortSignal): Promise<void> {
    const controller = this.hosted(request.shard);
    if (request.observer) {
      const range = request.splitHashRange;
      if (request.targetShard === undefined || !range) throw invalidArgument('an observer needs a target shard and a split hash range');
      await controller.observe(
        request.term,
        request.followerName,
        { shard: request.targetShard, term: SPLIT_CHILD_TERM, range: { min: range.minHashInclusive, max: range.maxHashInclusive } },
        signal ?? new AbortController().signal,
      );
      return;
    }
    await controller.addFollower(request.term, request.followerName, request.followerHeadEntryId ?? INVALID_ENTRY_ID);
  }

  async removeObserver(request: RemoveObserverRequest): Promise<void> {
    await this.hosted(request.shard).removeObserver(request.term, request.followerName, request.targetShard);
  }

  async freezeShard(request: FreezeShardRequest, signal: AbortSignal): Promise<FreezeShardResponse> {
    const headOffset = await this.hosted(request.shard).freeze(request.term, request.frozen, signal);
    return { headOffset };
  }

  async getStatus(request: GetStatusRequest): Promise<GetStatusResponse> {
    const status = await this.hosted(request.shard).status();
    return {
      term: status.term,
      status: SERVING_STATUS[status.role],
      headOffset: status.headOffset,
      commitOffset: status.commitOffset,
      shardStats: { dbSizeBytes: status.dbSizeBytes, readOpsTotal: status.readOpsTotal, writeOpsTotal: status.writeOpsTotal },
    };
  }

  async deleteShard(request: DeleteShardRequest): Promise<void> {
    const controller = this.open.get(request.shard) ?? (await this.controller(request.namespace, request.shard));
    // Recorded before the files go (and only for an accepted term): a crash in between leaves the
    // shard refused to leaders' streams, and the coordinator's retry of DeleteShard removes them.
    await controller.delete(request.term, () => this.deletedShards.add(request.shard));
    this.open.delete(request.shard);
    this.controllers.delete(request.shard);
  }

  /** Binds this node to one coordinator instance (kept in memory: a restarted node binds anew). */
  handshake(request: HandshakeRequest): HandshakeResponse {
    if (request.instanceId === '') throw invalidArgument('instance id must not be empty');
    let status: HandshakeStatus;
    if (this.instanceId === undefined) {
      this.instanceId = request.instanceId;
      status = HandshakeStatus.HANDSHAKE_STATUS_BOUND;
    } else {
      status = this.instanceId === request.instanceId ? HandshakeStatus.HANDSHAKE_STATUS_ALREADY_BOUND : HandshakeStatus.HANDSHAKE_STATUS_MISMATCH;
    }
    return { status, featuresSupported: [] };
  }

  getInfo(): GetInfoResponse {
    // No optional feature (DB checksums) is implemented: the leader never proposes one.
    return { featuresSupported: [] };
  }

  /**
   * Opens the shard (creating its files when missing) and answers the term it persisted, -1 for
   * a new one: what a local coordinator (standalone) starts the shard's next term from.
   */
  async persistedTerm(namespace: string, shard: bigint): Promise<bigint> {
    return (await this.controller(namespace, shard)).term;
  }

  // ---- replication ----------------------------------------------------------------

  async truncate(request: TruncateRequest): Promise<TruncateResponse> {
    const controller = await this.memberController(request.namespace, request.shard);
    const head = await controller.truncate(request.term, request.headEntryId ?? INVALID_ENTRY_ID);
    return { headEntryId: head };
  }

  async replicate(
    target: ReplicationTarget,
    appends: AsyncIterable<AppendMessage>,
    sendAck: AckSender,
    signal: AbortSignal,
  ): Promise<void> {
    const controller = await this.memberController(target.namespace, target.shard);
    await controller.replicate(target.term, appends, sendAck, signal);
  }

  async installSnapshot(target: ReplicationTarget, chunks: AsyncIterable<SnapshotChunkMessage>, signal: AbortSignal): Promise<bigint> {
    const controller = await this.memberController(target.namespace, target.shard);
    return controller.installSnapshot(chunks, signal);
  }

  // ---- clients ----------------------------------------------------------------------

  async *watchAssignments(namespace: string, signal: AbortSignal): AsyncIterable<ShardAssignments> {
    const name = namespace === '' ? DEFAULT_NAMESPACE : namespace;
    let sent: ShardAssignments | undefined;
    for (;;) {
      if (signal.aborted) return;
      if (this.closed) throw new OxiaError('Closed', 'the server is shutting down');
      // Registered before reading, so a push while we yield still wakes us.
      const changed = this.assignmentsChanged.wait(signal);
      const current = this.assignments;
      if (current !== undefined && current !== sent) {
        const assignment = current.namespaces[name];
        if (assignment === undefined && sent === undefined) {
          throw new OxiaError('NamespaceNotFound', `namespace "${name}" does not exist`);
        }
        sent = current;
        // Only the newest assignments matter: a slow client skips the ones it missed.
        yield { namespaces: assignment ? { [name]: assignment } : {}, allowedAuthorities: current.allowedAuthorities };
      }
      await changed;
    }
  }

  write(shard: bigint, request: WriteRequest, namespace?: string): Promise<WriteResponse> {
    return this.leaderOf(shard, namespace).write(request);
  }

  read(shard: bigint, request: ReadRequest, signal: AbortSignal): AsyncIterable<ReadResponse> {
    return this.leaderOf(shard).read(request, signal);
  }

  list(shard: bigint, request: ListRequest, signal: AbortSignal): AsyncIterable<ListResponse> {
    return this.leaderOf(shard).list(request, signal);
  }

  rangeScan(shard: bigint, request: RangeScanRequest, signal: AbortSignal): AsyncIterable<RangeScanResponse> {
    return this.leaderOf(shard).rangeScan(request, signal);
  }

  sequenceUpdates(request: GetSequenceUpdatesRequest, signal: AbortSignal): AsyncIterable<GetSequenceUpdatesResponse> {
    return this.leaderOf(request.shard).sequenceUpdates(request.key, signal);
  }

  notifications(request: NotificationsRequest, signal: AbortSignal): AsyncIterable<NotificationBatch> {
    return this.leaderOf(request.shard).notifications(request.startOffsetExclusive, signal);
  }

  async createSession(request: CreateSessionRequest, owner?: string): Promise<CreateSessionResponse> {
    const sessionId = await this.leaderOf(request.shard).createSession(request.sessionTimeoutMs, request.clientIdentity, owner);
    return { sessionId };
  }

  async keepAlive(request: SessionHeartbeat, caller?: string): Promise<void> {
    this.leaderOf(request.shard).keepAlive(request.sessionId, caller);
  }

  closeSession(request: CloseSessionRequest, caller?: string): Promise<void> {
    return this.leaderOf(request.shard).closeSession(request.sessionId, caller);
  }

  copyShard(request: ReadShardRequest, signal: AbortSignal): AsyncIterable<ReadShardResponse> {
    return this.leaderOf(request.shard, request.namespace).copy(request.includeEphemeral, signal);
  }

  shardNamespace(shard: bigint, namespace?: string): ShardNamespace {
    const leader = this.leaderOf(shard, namespace);
    return { namespace: leader.ref.namespace, keySorting: leader.keySorting };
  }

  // ---- internals ----------------------------------------------------------------------

  private leaderOf(shard: bigint, namespace?: string): LeaderShard {
    if (this.closed) throw new OxiaError('Closed', 'the server is shutting down');
    const controller = this.open.get(shard);
    // A standalone knows every shard once its local coordinator has placed them; before that a
    // shard not open yet is only not led yet, and the caller retries (as a cluster node answers).
    if (!controller && this.config.soleNode && this.assignments !== undefined) {
      throw new OxiaError('ShardNotFound', `shard ${shard} does not exist on this node`);
    }
    if (!controller) throw new OxiaError('NodeIsNotMember', `this node is not a member of shard ${shard}`);
    if (namespace !== undefined && namespace !== '' && namespace !== controller.ref.namespace) {
      throw new OxiaError('NamespaceNotFound', `shard ${shard} does not belong to namespace "${namespace}"`);
    }
    return controller.servingLeader(this.leaders.get(shard));
  }

  /** A shard this node has open; NodeIsNotMember otherwise. */
  private hosted(shard: bigint): ReplicaController {
    if (this.closed) throw new OxiaError('Closed', 'the server is shutting down');
    const controller = this.open.get(shard);
    if (!controller) throw new OxiaError('NodeIsNotMember', `this node is not a member of shard ${shard}`);
    return controller;
  }

  /**
   * The controller for a leader's call (Replicate, SendSnapshot, Truncate). These open a shard
   * the node has no files for, so that a leader can bring back a wiped follower by snapshot,
   * but not one DeleteShard removed: the coordinator deletes a shard node by node, and its
   * leader, until deleted itself, keeps streaming to the followers already deleted, which
   * would otherwise create the shard's files anew.
   */
  private memberController(namespace: string, shard: bigint): Promise<ReplicaController> {
    if (this.deletedShards.has(shard)) return Promise.reject(new OxiaError('NodeIsNotMember', `shard ${shard} was deleted from this node`));
    return this.controller(namespace, shard);
  }

  /** The shard's controller, opening it from its files (created when missing) the first time. */
  private controller(namespace: string, shard: bigint): Promise<ReplicaController> {
    if (this.closed) return Promise.reject(new OxiaError('Closed', 'the server is shutting down'));
    const existing = this.controllers.get(shard);
    if (existing) {
      return existing.then((c) => {
        if (namespace !== '' && c.ref.namespace !== namespace) {
          throw invalidArgument(`shard ${shard} belongs to namespace "${c.ref.namespace}", not "${namespace}"`);
        }
        return c;
      });
    }
    const ref = { namespace: namespace === '' ? DEFAULT_NAMESPACE : namespace, shard };
    const opening = ReplicaController.open(ref, { ...this.deps, log: this.log.child({ namespace: ref.namespace, shard: shard.toString() }) }).then(
      async (c) => {
        if (this.closed) {
          await c.close();
          throw new OxiaError('Closed', 'the server is shutting down');
        }
        this.open.set(shard, c);
        return c;
      },
      (error: unknown) => {
        this.controllers.delete(shard);
        throw error;
      },
    );
    this.controllers.set(shard, opening);
    return opening;
  }

  private scheduleRetention(): void {
    if (this.closed) return;
    this.retentionTimer = this.clock.schedule(this.config.retentionCheckIntervalMs, () => {
      void (async () => {
        for (const controller of [...this.open.values()]) {
          try {
            await controller.applyRetention(this.config.walRetentionMs, this.config.notificationsRetentionMs);
          } catch (e) {
            if (!this.closed) this.log.warn('retention pass failed', { shard: controller.ref.shard.toString(), error: String(e) });
          }
        }
        this.scheduleRetention();
      })();
    });
  }
}

/** NewTerm's options as stored with the term; undefined when the coordinator sent none (the stored ones stay). */
function termOptionsOf(options: NewTermOptions | undefined): TermOptions | undefined {
  if (options === undefined) return undefined;
  const keySorting =
    options.keySorting === KeySortingType.NATURAL ? 'natural' : options.keySorting === KeySortingType.HIERARCHICAL ? 'hierarchical' : undefined;
  return { notificationsEnabled: options.enableNotifications, ...(keySorting ? { keySorting } : {}) };
}
