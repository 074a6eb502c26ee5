import { inject, injectable, optional } from 'inversify';
import {
  applyAdminChanges,
  membersWithAdminChanges,
  NO_ADMIN_CHANGES,
  withoutDropped,
  type AdminChanges,
  type EffectiveConfig,
} from '../../domain/cluster/admin-changes.js';
import { RandomSource } from '../ports/random-source.js';
import type { ClusterConfig, NamespaceConfig } from '../../domain/cluster/cluster-config.js';
import { allShards, type ClusterStatus } from '../../domain/cluster/cluster-status.js';
import { nodeId, sameNodeAddress, type NodeAddress } from '../../domain/cluster/node-address.js';
import { isStatusVersionConflict } from '../../domain/cluster/status-conflict.js';
import { assignmentsFromStatus, sameAssignments } from '../../domain/coordinator/assignments-from-status.js';
import { bestLeaderMove } from '../../domain/coordinator/leader-balance.js';
import { planEvacuations, shardsWithMovedNodes } from '../../domain/coordinator/membership.js';
import { leaderCounts } from '../../domain/coordinator/node-load.js';
import { bestReplicaMove, type ReplicaMove } from '../../domain/coordinator/replica-balance.js';
import { planReplicationFactorChanges } from '../../domain/coordinator/replication-factor.js';
import { describeChange } from '../../domain/coordinator/election.js';
import type { NodeRunState } from '../../domain/coordinator/node-health.js';
import { createNamespaceShards } from '../../domain/coordinator/shard-creation.js';
import { containsNode, findShard, nodesInStatus, shardLabel, unionNodes, type ShardKey } from '../../domain/coordinator/status-edit.js';
import { beginSplit, isUncommittedChild, splitsInProgress, type RunningSplit } from '../../domain/coordinator/split.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { Clock } from '../ports/clock.js';
import { ClusterConfigSource } from '../ports/cluster-config-source.js';
import { ClusterStatusStore } from '../ports/cluster-status-store.js';
import { Logger } from '../ports/logger.js';
import { Metrics } from '../ports/metrics.js';
import { NodeDiscovery } from '../ports/node-discovery.js';
import { StorageNodeClient } from '../ports/storage-node-client.js';
import { CoordinatorSettings } from './coordinator-settings.js';
import { NodeMonitor, type PublishedAssignments } from './node-monitor.js';
import { AutoSplitter } from './auto-splitter.js';
import { pause } from '../pause.js';
import { ShardController, type ShardControllerContext } from './shard-controller.js';
import { SplitController } from './split-controller.js';
import { StatusKeeper } from './status-keeper.js';
import { ClusterJournal } from '../console/cluster-journal.js';

/** One storage node as the coordinator's monitor sees it. */
export interface MonitoredNode {
  readonly node: NodeAddress;
  readonly state: NodeRunState;
  /** Wall-clock ms since when it runs; undefined while it does not. */
  readonly upSinceMs: number | undefined;
}

/** What the load balancer is doing (ADR 0014), for people. */
export interface BalancerState {
  readonly scheduleIntervalMs: number;
  readonly quarantineTimeMs: number;
  /** The replica move in progress: shard label, from, to, since when (ms ago). */
  readonly replicaMove: { readonly shard: string; readonly from: string; readonly to: string; readonly forMs: number } | undefined;
  readonly movingLeader: boolean;
  /** Shards the balancer leaves alone for now, with how long (ms) they still wait. */
  readonly quarantined: readonly { readonly shard: string; readonly what: 'replicas' | 'leader'; readonly remainingMs: number }[];
  readonly splitsRunning: number;
}

/** What the web console shows besides the status: the monitored nodes and the balancer. */
export interface ConsoleFacts {
  readonly view: AdminView;
  readonly nodes: readonly MonitoredNode[];
  readonly balancer: BalancerState;
}

/** What the admin API answers from: the config file's configuration, the one in force, the members and the status. */
export interface AdminView {
  readonly fileConfig: ClusterConfig;
  readonly effective: EffectiveConfig;
  readonly members: readonly NodeAddress[];
  readonly status: ClusterStatus;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The coordinator of a cluster, as Oxia's: it keeps the ClusterStatus (status-keeper.ts),
 * runs one ShardController per shard (elections, followers, deletion) and one NodeMonitor per
 * storage node (health, assignments), and reconciles the status with the cluster config and
 * the member nodes whenever either changes:
 *
 * - a namespace in the config but not in the status gets its shards (ids from
 *   shardIdGenerator, even ranges, ensembles spreading load), then their first elections;
 * - a namespace no longer in the config has its shards deleted;
 * - a member whose address changed (same name) gets its shards re-elected with the new address;
 * - replicas on nodes that are no longer members move to members, one ensemble change per
 *   shard at a time, re-planned after each change and on the load balancer's schedule;
 * - on the load balancer's schedule, replicas are balanced (a server added to the cluster takes
 *   its share of the existing shards): one replica moves at a time, from the available member
 *   holding the most replicas to the least loaded one, through the same ensemble change, and
 *   only when their counts differ by two or more (domain/coordinator/replica-balance.ts). A
 *   move lasts until the new replica has caught up (at most quarantineTime); the next one is
 *   chosen then. Evacuations of departed nodes go first; a move that fails quarantines its
 *   shard for quarantineTime (ADR 0014);
 * - once replicas are balanced, leaders are: one leadership at a time (leader-balance.ts);
 * - every node is sent the new ShardAssignments whenever they change.
 *
 * If the status store reports that another coordinator wrote the status, this one stops
 * acting at once and `failure` resolves; it never overwrites. One Coordinator serves one
 * leadership of the coordinator lease (LeasedCoordinator, ADR 0023), which decides whether the
 * process stands by again or exits.
 */
@injectable()
export class Coordinator {
  private keeper: StatusKeeper | undefined;
  private readonly shards = new Map<string, ShardController>();
  private readonly monitors = new Map<string, NodeMonitor>();
  /** Splits being driven, by parent shard label (ADR 0025). */
  private readonly splits = new Map<string, SplitController>();
  /** Shard label -> node id of a leader being installed (counted in leader choices). */
  private readonly leadersInProgress = new Map<string, string>();
  /** Shards whose re-election for a moved address is queued, so reconciling twice does not elect twice. */
  private readonly reelectionsQueued = new Set<string>();
  private readonly deletionsQueued = new Set<string>();
  /** Shard label -> until when (monotonic ms) it is not moved again: its last leader move changed nothing. */
  private readonly quarantinedShards = new Map<string, number>();
  private movingLeader = false;
  /** Shard label -> until when (monotonic ms) the balancer leaves its replicas alone: a move of it failed. */
  private readonly replicaQuarantine = new Map<string, number>();
  /** The replica move in progress (from its start until its shard may change its ensemble again) and when it started (monotonic ms). */
  private replicaMove: { readonly move: ReplicaMove; readonly startedMs: number } | undefined;
  private assignments: PublishedAssignments | undefined;
  private readonly stopping = new AbortController();
  private readonly unsubscribe: (() => void)[] = [];
  private reconciling: Promise<void> | undefined;
  private reconcileAgain = false;
  private resolveFailure: (error: Error) => void = () => undefined;
  private failed = false;
  /** Resolves when the coordinator stopped on its own because it must not continue (another coordinator wrote). */
  readonly failure: Promise<Error>;
  private readonly log: Logger;
  private effectiveCache: { readonly file: ClusterConfig; readonly changes: AdminChanges | undefined; readonly effective: EffectiveConfig } | undefined;
  private membersCache: { readonly discovered: readonly NodeAddress[]; readonly effective: EffectiveConfig; readonly members: readonly NodeAddress[] } | undefined;

  constructor(
    @inject(ClusterStatusStore) private readonly store: ClusterStatusStore,
    @inject(ClusterConfigSource) private readonly configSource: ClusterConfigSource,
    @inject(NodeDiscovery) private readonly discovery: NodeDiscovery,
    @inject(StorageNodeClient) private readonly client: StorageNodeClient,
    @inject(Clock) private readonly clock: Clock,
    @inject(Logger) private readonly baseLog: Logger,
    @inject(Metrics) private readonly metrics: Metrics,
    @inject(CoordinatorSettings) private readonly settings: CoordinatorSettings,
    @inject(ClusterJournal) @optional() private readonly journal: ClusterJournal = new ClusterJournal(),
    @inject(RandomSource) @optional() private readonly random: RandomSource = Math.random,
  ) {
    this.log = baseLog.child({ component: 'coordinator' });
    this.failure = new Promise<Error>((resolve) => (this.resolveFailure = resolve));
  }

  /**
   * Loads and claims the status, starts controllers and monitors, creates what the config
   * declares. Rejects (StatusVersionConflict among others) when it cannot take charge. The
   * config source and the node discovery must have been started: a standby keeps them current
   * while it waits, and they outlive each leadership.
   */
  async start(): Promise<void> {
    const keeper = new StatusKeeper(this.store, this.log, (conflict) => this.fail(conflict));
    const { existed } = await keeper.start();
    this.keeper = keeper;
    const status = keeper.current();
    this.log.info('coordinator started', {
      statusExisted: existed,
      namespaces: [...status.namespaces.keys()],
      members: this.members().map(nodeId),
    });
    this.syncMonitors();
    for (const { namespace, shard } of allShards(status)) this.startController({ namespace, shard });
    for (const running of splitsInProgress(status)) this.startSplitController(running);
    this.publishAssignments();
    this.unsubscribe.push(this.configSource.watch(() => this.requestReconcile('cluster config changed')));
    this.unsubscribe.push(this.discovery.watch(() => this.requestReconcile('member nodes changed')));
    await this.requestReconcile('start');
    void this.every(() => this.settings.ownershipCheckIntervalMs, () => this.checkOwnership());
    void this.every(
      () => this.config().loadBalancer.scheduleIntervalMs,
      async () => {
        await this.requestReconcile('scheduled');
        // As Oxia's balancer: leaders are balanced once the replicas are (a replica move elects anyway).
        if (this.balanceReplicas()) return;
        await this.balanceLeaders();
      },
    );
    const autoSplitter = new AutoSplitter({
      client: this.client,
      clock: this.clock,
      log: this.log,
      status: () => this.requireKeeper().current(),
      config: () => this.config().autoSplit,
      split: (key) => this.splitShard(key, undefined),
    });
    void this.every(() => this.config().autoSplit.collectionIntervalMs, () => autoSplitter.round(this.stopping.signal));
  }

  /**
   * Starts splitting a shard (ADR 0025): records the split (phase Bootstrap) and drives it in
   * the background. Resolves with the children's ids once recorded; rejects with an OxiaError
   * when the shard cannot be split now.
   */
  async splitShard(key: ShardKey, splitPoint: number | undefined): Promise<readonly [bigint, bigint]> {
    if (!this.acting) throw new OxiaError('NotInitialized', 'the coordinator is not acting (stopping, or another coordinator took over)');
    let children: readonly [bigint, bigint] | undefined;
    const stored = await this.requireKeeper().update((s) => {
      const started = beginSplit(s, key, splitPoint);
      children = started.children;
      return started.status;
    });
    const running = splitsInProgress(stored).find((r) => shardLabel(r.parent) === shardLabel(key));
    if (!running || !children) throw new Error('bug: a recorded split is not in the stored status');
    this.log.info('splitting a shard', { shard: shardLabel(key), children: children.map(String), splitPoint: running.split.splitPoint });
    this.startSplitController(running);
    return children;
  }

  /** The status as last stored (for tests and diagnostics). */
  status() {
    return this.requireKeeper().current();
  }

  /** What the admin API reads: the configs, the members, the status, by what it was computed from. */
  adminView(): AdminView {
    const status = this.requireKeeper().current();
    return { fileConfig: this.configSource.current(), effective: this.effective(), members: this.members(), status };
  }

  /** The admin view with the monitored nodes and the balancer's state (the web console). */
  consoleFacts(): ConsoleFacts {
    const now = this.clock.monotonicMs();
    const config = this.config();
    const quarantined: { shard: string; what: 'replicas' | 'leader'; remainingMs: number }[] = [];
    for (const [shard, until] of this.replicaQuarantine) if (until > now) quarantined.push({ shard, what: 'replicas', remainingMs: Math.round(until - now) });
    for (const [shard, until] of this.quarantinedShards) if (until > now) quarantined.push({ shard, what: 'leader', remainingMs: Math.round(until - now) });
    const move = this.replicaMove;
    return {
      view: this.adminView(),
      nodes: [...this.monitors.values()].map((m) => ({ node: m.node, state: m.state(), upSinceMs: m.upSince() })),
      balancer: {
        scheduleIntervalMs: config.loadBalancer.scheduleIntervalMs,
        quarantineTimeMs: config.loadBalancer.quarantineTimeMs,
        replicaMove: move && {
          shard: shardLabel(move.move.key),
          from: nodeId(move.move.from),
          to: nodeId(move.move.to),
          forMs: Math.round(now - move.startedMs),
        },
        movingLeader: this.movingLeader,
        quarantined,
        splitsRunning: this.splits.size,
      },
    };
  }

  /** Whether the coordinator sees a node up (undefined: it does not watch that node). */
  nodeState(id: string): NodeRunState | undefined {
    return this.monitors.get(id)?.state();
  }

  /**
   * Applies an admin API change to the latest status (`edit` sees the view computed from it and
   * may throw an OxiaError to refuse), stores it, and reconciles at once. Resolves with the
   * status as stored; rejects when the edit refused or the write failed.
   */
  async editByAdmin(edit: (status: ClusterStatus, view: AdminView) => ClusterStatus): Promise<ClusterStatus> {
    if (!this.acting) throw new OxiaError('NotInitialized', 'the coordinator is not acting (stopping, or another coordinator took over)');
    const stored = await this.requireKeeper().update((s) => {
      const effective = applyAdminChanges(this.configSource.current(), s.adminChanges);
      return edit(s, { fileConfig: this.configSource.current(), effective, members: membersWithAdminChanges(this.discovery.current(), effective), status: s });
    });
    void this.requestReconcile('admin API change');
    return stored;
  }

  // ------------------------------------------------------------------ the configuration in force

  /** The config file's (or ConfigMap's) configuration with the admin API's changes that still apply (ADR 0022). */
  private effective(): EffectiveConfig {
    const file = this.configSource.current();
    const changes = this.keeper?.current().adminChanges;
    const cached = this.effectiveCache;
    if (cached && cached.file === file && cached.changes === changes) return cached.effective;
    const effective = applyAdminChanges(file, changes);
    this.effectiveCache = { file, changes, effective };
    return effective;
  }

  private config(): ClusterConfig {
    return this.effective().config;
  }

  /** The discovered nodes with the admin API's data server changes. */
  private members(): readonly NodeAddress[] {
    const discovered = this.discovery.current();
    const effective = this.effective();
    const cached = this.membersCache;
    if (cached && cached.discovered === discovered && cached.effective === effective) return cached.members;
    const members = membersWithAdminChanges(discovered, effective);
    this.membersCache = { discovered, effective, members };
    return members;
  }

  /** Admin changes that no longer apply (the config changed or now says the same) leave the stored changes. */
  private async dropStaleAdminChanges(): Promise<void> {
    const dropped = this.effective().dropped;
    if (dropped.length === 0) return;
    for (const d of dropped) {
      if (d.reason === 'superseded') {
        this.log.warn('the cluster config changed an entry after the admin API did: the config is followed and the API change dropped', { kind: d.kind, name: d.name });
      } else {
        this.log.info('the cluster config now declares what the admin API set: the API change is dropped', { kind: d.kind, name: d.name });
      }
    }
    await this.requireKeeper().update((s) => {
      const changes = s.adminChanges ?? NO_ADMIN_CHANGES;
      const stale = applyAdminChanges(this.configSource.current(), changes).dropped;
      return stale.length === 0 ? s : { ...s, adminChanges: withoutDropped(changes, stale) };
    });
  }

  /** The status's replication factor of each namespace follows the config (a patch or an edit of the file). */
  private async syncReplicationFactors(): Promise<void> {
    const wanted = new Map(this.config().namespaces.map((n) => [n.name, n.replicationFactor]));
    const differs = (s: ClusterStatus): boolean => [...s.namespaces].some(([name, ns]) => wanted.has(name) && wanted.get(name) !== ns.replicationFactor);
    if (!differs(this.requireKeeper().current())) return;
    await this.requireKeeper().update((s) => {
      if (!differs(s)) return s;
      const namespaces = new Map(s.namespaces);
      for (const [name, ns] of s.namespaces) {
        const rf = wanted.get(name);
        if (rf !== undefined && rf !== ns.replicationFactor) {
          this.log.info('the replication factor of a namespace changed', { namespace: name, from: ns.replicationFactor, to: rf });
          namespaces.set(name, { ...ns, replicationFactor: rf });
        }
      }
      return { ...s, namespaces };
    });
  }

  /** The ShardAssignments last published to the nodes. */
  publishedAssignments(): PublishedAssignments | undefined {
    return this.assignments;
  }

  async close(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    this.stopActing();
    await this.reconciling?.catch(() => undefined);
  }

  // ------------------------------------------------------------------ stopping

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.stopActing();
    this.resolveFailure(error);
  }

  private stopActing(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const c of this.splits.values()) void c.close();
    for (const c of this.shards.values()) c.close();
    for (const m of this.monitors.values()) m.close();
  }

  private get acting(): boolean {
    return !this.stopping.signal.aborted && !this.failed;
  }

  private requireKeeper(): StatusKeeper {
    if (!this.keeper) throw new Error('bug: the coordinator is not started');
    return this.keeper;
  }

  /** Runs `task` every `intervalMs()` until the coordinator stops. */
  private async every(intervalMs: () => number, task: () => Promise<void>): Promise<void> {
    while (this.acting) {
      await pause(this.clock, intervalMs(), this.stopping.signal);
      if (!this.acting) return;
      await task().catch((e: unknown) => this.log.warn('periodic task failed', { error: describe(e) }));
    }
  }

  private async checkOwnership(): Promise<void> {
    try {
      await this.requireKeeper().checkOwnership();
    } catch (e) {
      // A conflict already stopped everything (onLost); anything else is a store hiccup.
      if (!isStatusVersionConflict(e)) this.log.warn('could not re-read the cluster status', { error: describe(e) });
    }
  }

  // ------------------------------------------------------------------ reconciliation

  /** Reconciles now, or once more after the reconciliation in progress. */
  private requestReconcile(why: string): Promise<void> {
    if (!this.acting) return Promise.resolve();
    if (this.reconciling) {
      this.reconcileAgain = true;
      return this.reconciling;
    }
    this.reconciling = (async () => {
      try {
        let reason = why;
        do {
          this.reconcileAgain = false;
          this.log.debug('reconciling', { reason });
          await this.reconcile();
          reason = 'changes during the previous reconciliation';
        } while (this.reconcileAgain && this.acting);
      } catch (e) {
        if (!isStatusVersionConflict(e)) this.log.error('reconciliation failed', { error: describe(e) });
      } finally {
        this.reconciling = undefined;
      }
    })();
    return this.reconciling;
  }

  private async reconcile(): Promise<void> {
    const keeper = this.requireKeeper();
    await this.dropStaleAdminChanges();
    await this.syncReplicationFactors();
    const config = this.config();
    const members = this.members();
    this.syncMonitors();

    for (const ns of config.namespaces) {
      if (!this.acting) return;
      if (keeper.current().namespaces.has(ns.name)) continue;
      await this.createNamespace(ns, members, config);
    }

    const declared = new Set(config.namespaces.map((n) => n.name));
    for (const { namespace, shard } of allShards(keeper.current())) {
      if (declared.has(namespace)) continue;
      const label = shardLabel({ namespace, shard });
      if (this.deletionsQueued.has(label)) continue;
      this.deletionsQueued.add(label);
      this.log.info('namespace removed from the config: deleting its shard', { namespace, shard: shard.toString() });
      this.shards.get(label)?.delete();
    }

    for (const key of shardsWithMovedNodes(keeper.current(), members)) {
      const label = shardLabel(key);
      if (this.reelectionsQueued.has(label)) continue;
      this.reelectionsQueued.add(label);
      this.shards.get(label)?.refreshAddresses();
    }

    this.planEnsembleChanges();
    this.publishAssignments();
    this.syncMonitors();
  }

  private async createNamespace(ns: NamespaceConfig, members: readonly NodeAddress[], config: ClusterConfig): Promise<void> {
    let created: readonly ShardKey[] = [];
    try {
      await this.requireKeeper().update((s) => {
        if (s.namespaces.has(ns.name)) return s;
        const r = createNamespaceShards(s, ns, members, config.serverMetadata);
        if (!r.ok) throw new OxiaError('ResourceUnavailable', r.reason);
        created = r.shards;
        return r.status;
      });
    } catch (e) {
      if (!isStatusVersionConflict(e)) this.log.warn('cannot create the namespace yet', { namespace: ns.name, error: describe(e) });
      return;
    }
    this.log.info('created the namespace', { namespace: ns.name, shards: created.map((k) => k.shard.toString()), replicationFactor: ns.replicationFactor });
    for (const key of created) this.startController(key);
    this.publishAssignments();
  }

  /**
   * Brings ensembles to their namespace's replication factor (one replica added or removed
   * per shard at a time) and moves replicas off departed nodes (one ensemble change per
   * shard at a time); a shard being resized is not also evacuated in the same plan.
   */
  private planEnsembleChanges(): void {
    if (!this.acting || this.splits.size > 0) return;
    const config = this.config();
    const namespaces = new Map(config.namespaces.map((n) => [n.name, n]));
    const status = this.requireKeeper().current();
    const resize = planReplicationFactorChanges(status, this.members(), namespaces, config.serverMetadata);
    for (const b of resize.blocked) this.log.warn('a shard cannot reach its replication factor yet', { shard: shardLabel(b.key), reason: b.reason });
    const resizing = new Set(resize.steps.map((step) => shardLabel(step.key)));
    for (const step of resize.steps) {
      const controller = this.shards.get(shardLabel(step.key));
      if (!controller?.readyForEnsembleChange) continue;
      this.log.info('changing the replication factor of a shard: one replica at a time', {
        shard: shardLabel(step.key),
        ...describeChange(step),
        replicas: findShard(status, step.key)?.ensemble.length,
        wanted: namespaces.get(step.key.namespace)?.replicationFactor,
      });
      const wanted = namespaces.get(step.key.namespace)?.replicationFactor;
      void controller.changeEnsemble(step, `the namespace's replication factor is ${wanted}`);
    }
    const plan = planEvacuations(status, this.members(), namespaces, config.serverMetadata);
    for (const b of plan.blocked) if (!resizing.has(shardLabel(b.key))) this.log.warn('a replica cannot leave a departed node', { shard: shardLabel(b.key), reason: b.reason });
    for (const move of plan.moves) {
      if (resizing.has(shardLabel(move.key))) continue;
      const controller = this.shards.get(shardLabel(move.key));
      if (!controller?.readyForEnsembleChange) continue;
      this.log.info('moving a replica off a departed node', { shard: shardLabel(move.key), from: nodeId(move.from), to: nodeId(move.to) });
      const reason = `${nodeId(move.from)} is no longer a member of the cluster`;
      this.journal.record({ atMs: this.clock.nowMs(), kind: 'replica-move', shard: shardLabel(move.key), summary: `${nodeId(move.from)} -> ${nodeId(move.to)}`, reason });
      void controller.changeEnsemble(move, reason);
    }
  }

  /**
   * Starts the next replica move when replicas are uneven (bestReplicaMove), unless one is in
   * progress. A move is an ensemble change through an election, like an evacuation; it counts
   * as in progress until its shard's followers have caught up (the new replica holds the data),
   * when the next one is chosen at once (onReadyForEnsembleChange) rather than at the next run.
   * The move is not awaited: an election that keeps failing must not hold up the schedule.
   * True while replicas are being balanced (a move started or still in progress).
   */
  private balanceReplicas(): boolean {
    if (!this.acting || this.splits.size > 0) return false;
    if (this.replicaMoveInProgress()) return true;
    const now = this.clock.monotonicMs();
    for (const [label, until] of this.replicaQuarantine) if (until <= now) this.replicaQuarantine.delete(label);
    // Shards still busy with an earlier change (or catching up after it) are not ready for another.
    const skipped = new Set(this.replicaQuarantine.keys());
    for (const [label, controller] of this.shards) if (!controller.readyForEnsembleChange) skipped.add(label);
    const config = this.config();
    const decision = bestReplicaMove({
      status: this.requireKeeper().current(),
      members: this.members(),
      available: (id) => this.nodeAvailable(id),
      skipped,
      namespaces: new Map(config.namespaces.map((n) => [n.name, n])),
      serverMetadata: config.serverMetadata,
    });
    if (decision.kind === 'none') {
      this.log.debug('no replica to move', { reason: decision.reason });
      return false;
    }
    const move = decision.move;
    const label = shardLabel(move.key);
    const controller = this.shards.get(label);
    if (!controller?.readyForEnsembleChange) return false;
    this.replicaMove = { move, startedMs: this.clock.monotonicMs() };
    this.log.info('balancing replicas: moving one', {
      shard: label,
      from: nodeId(move.from),
      to: nodeId(move.to),
      replicasOnFrom: move.fromReplicas,
      replicasOnTo: move.toReplicas,
    });
    const reason = `balancing replicas: ${nodeId(move.from)} holds ${move.fromReplicas}, ${nodeId(move.to)} holds ${move.toReplicas}`;
    this.journal.record({ atMs: this.clock.nowMs(), kind: 'replica-move', shard: label, summary: `${nodeId(move.from)} -> ${nodeId(move.to)}`, reason });
    controller.changeEnsemble(move, reason).then(
      (changed) => this.replicaMoveEnded(move, changed),
      (e: unknown) => this.log.warn('balancing replicas: the move failed', { shard: label, error: describe(e) }),
    );
    return true;
  }

  /** The election of a replica move is over: it counts until the new replica caught up, or quarantines its shard if it did not happen. */
  private replicaMoveEnded(move: ReplicaMove, changed: boolean): void {
    if (!this.acting) return;
    const label = shardLabel(move.key);
    const ensemble = findShard(this.requireKeeper().current(), move.key)?.ensemble ?? [];
    if (changed && containsNode(ensemble, move.to) && !containsNode(ensemble, move.from)) {
      this.log.info('balancing replicas: moved one; waiting for it to catch up', { shard: label, to: nodeId(move.to) });
      return;
    }
    const quarantineMs = this.config().loadBalancer.quarantineTimeMs;
    this.replicaQuarantine.set(label, this.clock.monotonicMs() + quarantineMs);
    this.log.warn('balancing replicas: the move did not happen; the shard is quarantined', { shard: label, from: nodeId(move.from), to: nodeId(move.to), quarantineMs });
    if (this.replicaMove?.move === move) this.replicaMove = undefined;
  }

  /**
   * Whether the replica move last started still runs: its election, then its new replica's
   * catch-up. It stops counting when the shard is gone, when the new replica's node goes down, or
   * after quarantineTime (a node that answers health checks but cannot take the shard): its shard
   * then waits for it, not the whole balancer (the shard is not ready, so it is not moved again).
   */
  private replicaMoveInProgress(): boolean {
    if (!this.replicaMove) return false;
    const { move, startedMs } = this.replicaMove;
    const label = shardLabel(move.key);
    const controller = this.shards.get(label);
    if (!controller || controller.readyForEnsembleChange) {
      this.replicaMove = undefined;
      return false;
    }
    const elapsedMs = this.clock.monotonicMs() - startedMs;
    if (!this.nodeAvailable(nodeId(move.to)) || elapsedMs >= this.config().loadBalancer.quarantineTimeMs) {
      this.log.warn('balancing replicas: a moved replica has not caught up; moving on', { shard: label, to: nodeId(move.to), elapsedMs });
      this.replicaMove = undefined;
      return false;
    }
    return true;
  }

  /** Up, and stably so after a failure (the same judgement for replica and leader moves). */
  private nodeAvailable(id: string): boolean {
    return this.monitors.get(id)?.stablyRunning(this.settings.leaderRebalanceStableMs) ?? false;
  }

  /**
   * One leader move per run when leaders are uneven (bestLeaderMove), as Oxia's balancer: a
   * node that failed gets leaders back only after leaderRebalanceStableMs up; a move that leaves
   * the same leader (its members lag behind it) quarantines the shard for loadBalancer.quarantineTime.
   */
  private async balanceLeaders(): Promise<void> {
    if (!this.acting || this.movingLeader || this.splits.size > 0) return;
    const now = this.clock.monotonicMs();
    for (const [label, until] of this.quarantinedShards) if (until <= now) this.quarantinedShards.delete(label);
    const key = bestLeaderMove(this.requireKeeper().current(), (id) => this.nodeAvailable(id), new Set(this.quarantinedShards.keys()));
    const controller = key && this.shards.get(shardLabel(key));
    if (!key || !controller) return;
    const label = shardLabel(key);
    const before = this.requireKeeper().current().namespaces.get(key.namespace)?.shards.get(key.shard)?.leader;
    this.movingLeader = true;
    try {
      const after = await controller.moveLeader();
      this.log.info('balanced leaders', { shard: label, from: before ? nodeId(before) : undefined, to: after });
      if (after !== undefined && (!before || after !== nodeId(before))) {
        this.journal.record({
          atMs: this.clock.nowMs(),
          kind: 'leader-move',
          shard: label,
          summary: `${before ? nodeId(before) : 'none'} -> ${after}`,
          reason: 'balancing leaders: the leader held more leaderships than another available node',
        });
      }
      if (before && after === nodeId(before)) {
        this.quarantinedShards.set(label, this.clock.monotonicMs() + this.config().loadBalancer.quarantineTimeMs);
      }
    } finally {
      this.movingLeader = false;
    }
  }

  // ------------------------------------------------------------------ shard controllers

  private startController(key: ShardKey): void {
    const label = shardLabel(key);
    if (this.shards.has(label) || !this.acting) return;
    // A child of a split in progress is driven by its SplitController until the commit.
    const metadata = findShard(this.requireKeeper().current(), key);
    if (metadata && isUncommittedChild(metadata)) return;
    const controller = new ShardController(key, this.controllerContext());
    this.shards.set(label, controller);
    controller.start();
  }

  private startSplitController(running: RunningSplit): void {
    const label = shardLabel(running.parent);
    if (this.splits.has(label) || !this.acting) return;
    const controller = new SplitController(running, {
      keeper: this.requireKeeper(),
      client: this.client,
      clock: this.clock,
      log: this.baseLog,
      settings: this.settings,
      random: this.random,
      onCommitted: (committed) => {
        this.splits.delete(label);
        if (!this.acting) return;
        for (const child of committed.children) this.startController(child);
        const parent = this.shards.get(label);
        if (parent) parent.delete();
        else this.startController(committed.parent);
        this.publishAssignments();
        this.syncMonitors();
      },
      onAborted: (aborted) => {
        this.splits.delete(label);
        if (!this.acting) return;
        const parent = this.shards.get(label);
        if (parent) parent.electAgain('its split was rolled back');
        else this.startController(aborted.parent);
        // Children now Deleting: their controllers remove the copies from the nodes, then the children.
        for (const child of aborted.children) this.startController(child);
        this.publishAssignments();
        this.syncMonitors();
      },
    });
    this.splits.set(label, controller);
    controller.start();
  }

  private controllerContext(): ShardControllerContext {
    return {
      keeper: this.requireKeeper(),
      client: this.client,
      clock: this.clock,
      log: this.baseLog,
      metrics: this.metrics,
      settings: this.settings,
      random: this.random,
      journal: this.journal,
      members: () => new Map(this.members().map((n) => [nodeId(n), n])),
      nodeRunning: (node) => this.monitors.get(nodeId(node))?.state() === 'Running',
      namespaceConfig: (namespace) => this.config().namespaces.find((n) => n.name === namespace),
      leadersPerNode: (except) => {
        const counts = leaderCounts(this.requireKeeper().current());
        const skip = shardLabel(except);
        for (const [label, id] of this.leadersInProgress) if (label !== skip) counts.set(id, (counts.get(id) ?? 0) + 1);
        return counts;
      },
      leaderInProgress: (key, node) => {
        if (node) this.leadersInProgress.set(shardLabel(key), nodeId(node));
        else this.leadersInProgress.delete(shardLabel(key));
      },
      onShardChanged: (key) => {
        this.reelectionsQueued.delete(shardLabel(key));
        this.publishAssignments();
        this.syncMonitors();
      },
      onShardDeleted: (key) => {
        const label = shardLabel(key);
        this.shards.get(label)?.close();
        this.shards.delete(label);
        this.deletionsQueued.delete(label);
        this.publishAssignments();
        void this.requestReconcile('a shard was deleted');
      },
      onEnsembleChanged: () => {
        this.syncMonitors();
        this.planEnsembleChanges();
      },
      onReadyForEnsembleChange: (key) => {
        try {
          // A change this shard had to skip while it was catching up can go now.
          this.planEnsembleChanges();
          const moving = this.replicaMove?.move;
          if (moving && shardLabel(moving.key) === shardLabel(key)) {
            this.log.info('balancing replicas: the moved replica caught up', { shard: shardLabel(key), node: nodeId(moving.to) });
            this.balanceReplicas();
          }
        } catch (e) {
          this.log.warn('planning moves after a catch-up failed', { shard: shardLabel(key), error: describe(e) });
        }
      },
    };
  }

  // ------------------------------------------------------------------ nodes

  /** One monitor per member and per node the status still names (nodes leaving still get assignments). */
  private syncMonitors(): void {
    if (!this.acting || !this.keeper) return;
    const wanted = nodesInStatus(this.keeper.current());
    for (const m of this.members()) wanted.set(nodeId(m), m);
    for (const [id, monitor] of this.monitors) {
      const node = wanted.get(id);
      if (node && sameNodeAddress(node, monitor.node)) continue;
      monitor.close();
      this.monitors.delete(id);
      this.client.forget(monitor.node);
    }
    for (const [id, node] of wanted) {
      if (this.monitors.has(id)) continue;
      const monitor = new NodeMonitor(node, {
        client: this.client,
        clock: this.clock,
        log: this.baseLog,
        metrics: this.metrics,
        settings: this.settings,
        random: this.random,
        assignments: () => this.assignments,
        events: {
          onAvailable: (n) => {
            this.journal.record({ atMs: this.clock.nowMs(), kind: 'server-up', summary: `${nodeId(n)} is running`, reason: 'it answers health checks' });
            for (const c of this.shards.values()) c.nodeAvailable(n);
          },
          onUnavailable: (n, reason) => {
            this.journal.record({ atMs: this.clock.nowMs(), kind: 'server-down', summary: `${nodeId(n)} is down`, reason: `health checks: ${reason}` });
            for (const c of this.shards.values()) c.nodeUnavailable(n);
          },
          onReconnected: (n) => {
            for (const c of this.shards.values()) c.leaderReconnected(n);
          },
        },
      });
      this.monitors.set(id, monitor);
      monitor.start();
    }
  }

  private publishAssignments(): void {
    if (!this.acting || !this.keeper) return;
    const config = this.config();
    const message = assignmentsFromStatus(this.keeper.current(), unionNodes(config.servers, this.members()), config.allowExtraAuthorities);
    if (this.assignments && sameAssignments(this.assignments.message, message)) return;
    this.assignments = { version: (this.assignments?.version ?? 0) + 1, message };
    for (const m of this.monitors.values()) m.assignmentsChanged();
  }
}
