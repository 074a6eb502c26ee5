import type { RandomSource } from '../ports/random-source.js';
import type { DatabaseConfig, TermOptions } from '../../domain/database/api.js';
import { readCommitState, readTermOptions, termOps } from '../../domain/database/index.js';
import type { RequestLimits } from '../../domain/database/limits.js';
import { OxiaError, isOxiaError, isStorageFailure } from '../../domain/errors/oxia-error.js';
import { CHAIN_START_CRC, DEFAULT_DIGEST_CHECKPOINT_ENTRIES, integrityOp, readIntegrity, scanDigest } from '../../domain/integrity/index.js';
import { keyEncoder } from '../../domain/keys/key-encoder.js';
import type { HashRange } from '../../domain/sharding/hash-range.js';
import {
  checkAddFollower,
  checkServesClients,
  onBecomeLeader,
  onDeleteShard,
  onNewTerm,
  onReplicate,
  onTruncate,
  type ShardRole,
  type ShardRoleKind,
  type Transition,
} from '../../domain/replication/shard-role.js';
import { promiseAfterProbe, promiseRemainingMs, READ_LEASE_TIMING } from '../../domain/replication/read-lease.js';
import { INVALID_ENTRY_ID, type EntryId } from '../../domain/wal/log-entry.js';
import type { Clock } from '../ports/clock.js';
import type { KvStore, KvStoreFactory } from '../ports/kv-store.js';
import type { Logger } from '../ports/logger.js';
import type { Metrics } from '../ports/metrics.js';
import type { ReadinessGate } from '../ports/readiness.js';
import type { StorageProbe } from '../ports/storage-probe.js';
import type { AckSender, AppendMessage, ReplicationClient, SnapshotChunkMessage } from '../ports/replication-client.js';
import type { ShardRef } from '../ports/shard-ref.js';
import type { Wal, WalFactory } from '../ports/wal.js';
import { untilAborted } from './abortable.js';
import { FollowerCursor } from './follower-cursor.js';
import { FollowerReplica } from './follower-replica.js';
import { LeaderShard } from './leader-shard.js';
import { LogChain } from './log-chain.js';
import { Mutex } from './mutex.js';
import { cutForChild, ObserverFeed } from './observer-feed.js';
import { committedSnapshot } from './shard-copy.js';
import { SharedStoreView } from './shared-store-view.js';
import { yieldingScans } from './yielding-scan.js';
import { ShardMetrics } from './shard-metrics.js';
import { walEntryCount } from './wal-entry-count.js';
import { installingMarkerOp, INSTALLING_MARKER_KEY, loadSnapshotChunks, readInstallingMarker } from './snapshot-install.js';
import { type DigestMismatch, storeDigestMismatch, storeDigestMismatchNow } from './store-digest-scan.js';
import { WriteRecovery } from './write-recovery.js';
import { applyRetention } from './retention.js';

/**
 * Writes of the term go to disk before they count: the term is not in the log, so a power
 * loss that took back an unsynced term would let the replica take appends from a leader it
 * was fenced against (Oxia flushes its database after UpdateTerm for the same reason).
 */
const TERM_IS_DURABLE = { durable: true } as const;

export interface ReplicaControllerDeps {
  readonly walFactory: WalFactory;
  readonly kvFactory: KvStoreFactory;
  readonly replication: ReplicationClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly limits: RequestLimits;
  readonly metrics: Metrics;
  /** When this node started (monotonic ms), before it could receive anything. */
  readonly startedAtMs: number;
  /** Tells when the disk takes writes again after a storage failure (ADR 0029). */
  readonly storage: StorageProbe;
  /** Held (readiness and the whole node's health) while the shard cannot write. */
  readonly readiness: ReadinessGate;
  /** Jitter of the write probe's backoff (a simulation replays it from its seed). */
  readonly random: RandomSource;
  /** The integrity checks' settings (ADR 0031); DEFAULT_REPLICA_INTEGRITY when absent. */
  readonly integrity?: ReplicaIntegritySettings | undefined;
  /**
   * Every shard of the node is its only replica (standalone): a store whose records do not give
   * its digest is kept as it is, since there is no leader to rebuild it from (ADR 0033).
   */
  readonly soleReplica?: boolean;
}

/** What a node tunes of the integrity checks across replicas (ADR 0031). */
export interface ReplicaIntegritySettings {
  /** Entries between the state digest checkpoints a follower compares with its leader's (0: none). */
  readonly digestCheckpointEntries: number;
  /** How often a running replica scans its store against the digest it recorded (0: never; the open check stays). */
  readonly storeScanIntervalMs: number;
}

export const DEFAULT_REPLICA_INTEGRITY: ReplicaIntegritySettings = Object.freeze({
  digestCheckpointEntries: DEFAULT_DIGEST_CHECKPOINT_ENTRIES,
  storeScanIntervalMs: 0,
});

/** What the replica is doing besides holding its files: following (or fenced), or leading. */
type Activity =
  | { readonly kind: 'replica'; readonly replica: FollowerReplica }
  | {
      readonly kind: 'leader';
      readonly shard: LeaderShard;
      readonly term: bigint;
      readonly replicationFactor: number;
      /** The head of this replica's log when it was elected: what it must commit before serving. */
      readonly electionHead: EntryId;
      readonly cursors: Map<string, FollowerCursor>;
    };

export interface ShardStatus {
  readonly term: bigint;
  readonly role: ShardRoleKind;
  readonly headOffset: bigint;
  readonly commitOffset: bigint;
  readonly dbSizeBytes: bigint;
  readonly readOpsTotal: bigint;
  readonly writeOpsTotal: bigint;
}

/** What the node's metrics read from a shard at each scrape: cheap, synchronous, no I/O. */
export interface ShardGauges {
  readonly ref: ShardRef;
  readonly role: ShardRoleKind;
  readonly headOffset: bigint;
  readonly commitOffset: bigint;
  /** Live sessions (on a leader; 0 otherwise). */
  readonly sessions: number;
  /** A leader's followers and the offset each acknowledged as durable. */
  readonly followers: ReadonlyArray<{ readonly follower: string; readonly ackOffset: bigint }>;
  /** Entries the log holds, from its oldest to its newest (what trimming has not removed yet). */
  readonly walEntries: bigint;
}

/** How long the first observer of a split waits for the others to share its view of the store. */
const SPLIT_VIEW_WINDOW_MS = 200;
/** How long Truncate may take before BecomeLeader gives up on that follower. */
const TRUNCATE_TIMEOUT_MS = 10_000;

/**
 * One shard's replica on a storage node, driven by Oxia's replication protocol (named apart
 * from the coordinator's per-shard driver, application/coordinator/shard-controller.ts). It holds the
 * shard's WAL and store for as long as the node hosts the shard, and moves through the
 * role state machine of domain/replication/shard-role.ts (which decides; this class
 * does the I/O): NewTerm fences, BecomeLeader starts a LeaderShard with a cursor per
 * follower, Truncate and Replicate make it a follower, DeleteShard removes everything.
 *
 * Protocol calls run one at a time (a mutex). The long waits run outside it, so that a
 * NewTerm can always fence: BecomeLeader waiting for its quorum, a Replicate stream,
 * and a snapshot install (aborted by NewTerm) do not hold it.
 */
export class ReplicaController {
  private role: ShardRole;
  private options: TermOptions | undefined;
  private activity: Activity;
  private readonly mutex = new Mutex();
  /** Split observers being fed while leading (ADR 0025), by Oxia's observer key `follower:targetShard`: what RemoveObserver stops. */
  private readonly observers = new Map<string, ObserverFeed>();
  /** Frozen views of the store for the observers' snapshots: one for the feeds added together. */
  private readonly splitViews = new SharedStoreView(() => committedSnapshot(this.kv, new AbortController().signal), SPLIT_VIEW_WINDOW_MS);
  /** The cut of applied entries for each child being fed, by child shard: shared by the feeds of its replicas. */
  private readonly cuts = new Map<bigint, { readonly range: HashRange; readonly cut: ReturnType<typeof cutForChild> }>();
  private installAbort: AbortController | undefined;
  private closed = false;
  private readonly log: Logger;
  /**
   * Until when (monotonic ms) this replica must not help a new leader serve: it received a
   * lease probe from a leader, which may still serve reads on it. NewTerm answers only after.
   * Probes received by an earlier run of the node are unknown: its start counts as one.
   */
  private leasePromiseUntilMs: number;
  /** The "cannot write" state: a storage failure stops writing and steps down; a probe reopens the files (ADR 0029). */
  private readonly recovery: WriteRecovery;
  private readonly integrity: ReplicaIntegritySettings;
  /** Cancels the next periodic scan of the store (ADR 0031). */
  private cancelStoreScan: () => void = () => undefined;
  /** The term a sole leader that stopped writing leads again at once its files reopen (see stopWriting). */
  private soleLeaderTerm: bigint | undefined;

  private constructor(
    readonly ref: ShardRef,
    private readonly deps: ReplicaControllerDeps,
    private wal: Wal,
    private kv: KvStore,
    term: bigint,
    options: TermOptions | undefined,
    replica: FollowerReplica,
    private readonly metrics: ShardMetrics,
    /** The CRC chain of this replica's log (ADR 0031), across its activities. */
    private readonly chain: LogChain,
  ) {
    this.log = deps.log;
    this.role = term >= 0n ? { kind: 'Fenced', term } : { kind: 'NotMember', term: -1n };
    this.options = options;
    this.activity = { kind: 'replica', replica };
    this.leasePromiseUntilMs = promiseAfterProbe(-Infinity, deps.startedAtMs, READ_LEASE_TIMING);
    this.integrity = deps.integrity ?? DEFAULT_REPLICA_INTEGRITY;
    this.scheduleStoreScan();
    this.recovery = new WriteRecovery(
      ref,
      { probe: deps.storage, clock: deps.clock, log: deps.log, readiness: deps.readiness, metrics, random: deps.random },
      { stopWriting: (cause) => this.stopWriting(cause), reopen: () => this.reopenFiles() },
    );
  }

  /** Opens the shard's files (creating them when missing) and recovers its term and role. */
  static async open(ref: ShardRef, deps: ReplicaControllerDeps): Promise<ReplicaController> {
    const wal = await deps.walFactory.open(ref);
    let kv: KvStore;
    try {
      kv = await deps.kvFactory.open(ref);
    } catch (error) {
      await wal.close();
      throw error;
    }
    try {
      const interrupted = await readInstallingMarker(kv);
      if (interrupted !== undefined) {
        deps.log.warn('a snapshot install was interrupted; the shard starts over empty', { term: interrupted.toString() });
        await wal.clear();
        kv = await resetStore(ref, deps.kvFactory, kv, interrupted);
      }
      const metrics = ShardMetrics.of(deps.metrics, ref);
      const mismatch = deps.soleReplica ? undefined : await storeDigestMismatch(kv);
      if (mismatch) {
        logStoreMismatch(deps.log, mismatch, 'the replica is dropped and rebuilt from a snapshot');
        // Records changed behind the store's back (on disk, while the node was down): this
        // replica's copy is not one. It starts over empty, keeping its term, and its leader
        // sends it a snapshot (ADR 0031).
        metrics.diverged('stored_digest');
        const { term } = await readCommitState(kv);
        const options = await readTermOptions(kv);
        await wal.clear();
        kv = await resetStore(ref, deps.kvFactory, kv, term);
        if (options !== undefined && term >= 0n) await kv.write(termOps(term, options), TERM_IS_DURABLE);
      }
      const state = await readCommitState(kv);
      const options = await readTermOptions(kv);
      let created: ReplicaController | undefined;
      const chain = await LogChain.open(wal, kv);
      const replica = await ReplicaController.newReplica(wal, kv, () => created!.databaseConfig(), deps, metrics, chain, (e) => created?.storageFailed(e));
      const controller = new ReplicaController(ref, deps, wal, kv, state.term, options, replica, metrics, chain);
      created = controller;
      deps.log.info('shard opened', {
        term: state.term.toString(),
        role: controller.role.kind,
        head: wal.lastEntryId().offset.toString(),
        commitOffset: state.commitOffset.toString(),
      });
      return controller;
    } catch (error) {
      await wal.close().catch(() => undefined);
      await kv.close().catch(() => undefined);
      throw error;
    }
  }

  private static newReplica(
    wal: Wal,
    kv: KvStore,
    config: () => DatabaseConfig,
    deps: Pick<ReplicaControllerDeps, 'log' | 'clock' | 'integrity'>,
    metrics: ShardMetrics,
    chain: LogChain,
    onStorageFailure: (error: OxiaError) => void,
  ): Promise<FollowerReplica> {
    const digestCheckpointEntries = (deps.integrity ?? DEFAULT_REPLICA_INTEGRITY).digestCheckpointEntries;
    return FollowerReplica.open({ wal, kv, config, log: deps.log, clock: deps.clock, metrics, chain, onStorageFailure, digestCheckpointEntries });
  }

  /** A fresh FollowerReplica on the files as they are now. */
  private replicaOnFiles(): Promise<FollowerReplica> {
    return ReplicaController.newReplica(this.wal, this.kv, () => this.databaseConfig(), this.deps, this.metrics, this.chain, (e) => this.storageFailed(e));
  }

  /**
   * The shard's log or store cannot take writes (disk full, I/O error, free space below the
   * threshold): it stops writing and gives up leading until a write probe passes (ADR 0029).
   */
  storageFailed(cause: OxiaError): void {
    if (!this.closed) this.recovery.enter(cause);
  }

  get roleKind(): ShardRoleKind {
    return this.role.kind;
  }

  get term(): bigint {
    return this.role.term;
  }

  /** The settings the state machine applies entries with: the NewTerm options, Oxia's defaults before any. */
  databaseConfig(): DatabaseConfig {
    return {
      keySorting: this.options?.keySorting ?? 'hierarchical',
      notificationsEnabled: this.options?.notificationsEnabled ?? true,
      shard: this.ref.shard,
    };
  }

  // ---- coordination ---------------------------------------------------------------

  /**
   * NewTerm: fences this replica at `term` (a lower term is refused), ends any leading or
   * following, persists the term and options, and answers the head of its log, once the read
   * lease of the leader it followed cannot hold any more (domain/replication/read-lease.ts):
   * fenced at once, answered after; at once when the coordinator says that the previous
   * leader has accepted this term already (it stopped serving before it answered).
   */
  async newTerm(term: bigint, options: TermOptions | undefined, previousLeaderFenced = false): Promise<EntryId> {
    this.installAbort?.abort();
    const head = await this.fence(term, options);
    const waitMs = previousLeaderFenced ? 0 : promiseRemainingMs(this.leasePromiseUntilMs, this.deps.clock.monotonicMs());
    if (waitMs > 0) {
      this.log.info("fenced; answering once the former leader's read lease has run out", { term: term.toString(), waitMs: Math.ceil(waitMs) });
      await new Promise<void>((resolve) => this.deps.clock.schedule(waitMs, resolve));
    }
    this.metrics.leaseWaited(waitMs);
    return head;
  }

  private fence(term: bigint, options: TermOptions | undefined): Promise<EntryId> {
    return this.mutex.run(async () => {
      this.assertOpen();
      // Refused while the replica cannot write: it could not persist the term, and must not lead.
      this.assertWritable();
      const next = accepted(onNewTerm(this.role, term));
      await this.endActivity(new OxiaError('NodeIsNotLeader', `shard ${this.ref.shard} was fenced at term ${term}`));
      const nowMs = BigInt(Math.trunc(this.deps.clock.nowMs()));
      // Synced before the answer: the fence is a promise to the coordinator that no leader of
      // an older term gets another entry from this replica, and the log cannot replay it.
      await this.writing(() => this.kv.write(termOps(term, options, nowMs), TERM_IS_DURABLE));
      if (options !== undefined) this.options = options;
      this.role = next;
      // A replica holding only a snapshot (a split's child) answers the snapshot's offset.
      const head = this.localHead();
      this.log.info('fenced at a new term', { term: term.toString(), head: `${head.term}:${head.offset}` });
      return head;
    });
  }

  /**
   * BecomeLeader: starts leading at `term` with the given followers (address -> the head
   * it answered to NewTerm). Each follower whose log diverged from ours is truncated to
   * the last entry we share; then the entries already in our log are committed by a
   * quorum and applied before this replica serves clients.
   */
  async becomeLeader(term: bigint, replicationFactor: number, followers: ReadonlyMap<string, EntryId>, signal: AbortSignal): Promise<void> {
    const leader = await this.mutex.run(async () => {
      this.assertOpen();
      this.assertWritable();
      accepted(onBecomeLeader(this.role, term, replicationFactor));
      if (followers.size > replicationFactor - 1) {
        throw new OxiaError('InvalidArgument', `${followers.size} followers for a replication factor of ${replicationFactor}`);
      }
      await this.endActivity(new OxiaError('NodeIsNotLeader', `shard ${this.ref.shard} is changing leader`));
      const activity = await this.startLeaderActivity(term, replicationFactor);
      for (const [name, head] of followers) await this.attachFollower(activity, name, head);
      return activity;
    });
    // Outside the mutex: a NewTerm must be able to fence us while we wait for the quorum.
    await leader.shard.logPipeline.waitApplied(leader.electionHead.offset, signal);
    await this.mutex.run(async () => {
      this.assertOpen();
      if (this.activity !== leader || this.role.kind !== 'Fenced' || this.role.term !== term) {
        throw new OxiaError('InvalidTerm', `shard ${this.ref.shard} was fenced while becoming leader of term ${term}`);
      }
      await leader.shard.startSessions();
      this.role = { kind: 'Leader', term, replicationFactor };
      this.log.info('leading', {
        term: term.toString(),
        replicationFactor,
        head: leader.electionHead.offset.toString(),
        followers: [...followers.keys()],
      });
    });
  }

  /** A LeaderShard on this replica's files at `term` becomes the activity (it serves once what the log holds is applied). */
  private async startLeaderActivity(term: bigint, replicationFactor: number): Promise<Extract<Activity, { kind: 'leader' }>> {
    const electionHead = this.localHead();
    const shard = await LeaderShard.openReplicated(
      this.ref,
      this.databaseConfig(),
      this.deps.limits,
      {
        wal: this.wal,
        kv: this.kv,
        clock: this.deps.clock,
        log: this.log,
        metrics: this.metrics,
        onStorageFailure: (e) => this.storageFailed(e),
        chain: this.chain,
        digestCheckpointEntries: this.integrity.digestCheckpointEntries,
      },
      { term, replicationFactor },
    );
    const activity: Extract<Activity, { kind: 'leader' }> = { kind: 'leader', shard, term, replicationFactor, electionHead, cursors: new Map() };
    this.activity = activity;
    return activity;
  }

  /** AddFollower: the leader of `term` takes one more follower (idempotent by name). */
  addFollower(term: bigint, name: string, head: EntryId): Promise<void> {
    return this.mutex.run(async () => {
      this.assertOpen();
      const refused = checkAddFollower(this.role, term);
      if (refused) throw refused;
      const leader = this.activity;
      if (leader.kind !== 'leader') throw new Error('bug: a Leader role without a leader activity');
      if (leader.cursors.has(name)) return;
      if (leader.cursors.size >= leader.replicationFactor - 1) {
        throw new OxiaError('InvalidArgument', `all ${leader.replicationFactor - 1} followers are already attached`);
      }
      await this.attachFollower(leader, name, head);
    });
  }

  /**
   * FreezeShard (ADR 0025): the leader of `term` stops taking new entries (clients get a
   * retryable NodeIsNotLeader) or, unfrozen, takes them again. Frozen, it resolves once every
   * entry already proposed is committed and applied, with the offset of the last one: the
   * parent's final state. The freeze lives as long as this leadership; a new term ends it.
   */
  async freeze(term: bigint, frozen: boolean, signal: AbortSignal): Promise<bigint> {
    const pipeline = await this.mutex.run(async () => {
      const leader = this.leaderOfTerm(term, 'freeze');
      leader.shard.logPipeline.setFrozen(frozen ? `shard ${this.ref.shard} is frozen for a split` : undefined);
      return leader.shard.logPipeline;
    });
    const head = pipeline.headEntryId.offset;
    if (frozen) await pipeline.waitApplied(head, signal);
    return head;
  }

  /**
   * AddFollower with observer set (ADR 0025): the leader of `term` feeds the child shard's
   * replica on `follower` its part of this shard (a filtered snapshot, then the filtered
   * entries as they are applied) while it goes on serving. Resolves once that replica caught
   * up: it holds every entry applied when it got its snapshot or, if later, when this was
   * called (on a frozen leader, all of them). Added again, the same observer keeps its feed.
   */
  async observe(
    term: bigint,
    follower: string,
    child: { readonly shard: bigint; readonly term: bigint; readonly range: HashRange },
    signal: AbortSignal,
  ): Promise<bigint> {
    const observerKey = `${follower}:${child.shard}`;
    const feed = await this.mutex.run(async () => {
      const leader = this.leaderOfTerm(term, 'feed an observer');
      const existing = this.observers.get(observerKey);
      if (existing && !existing.failed) return existing;
      const shard = leader.shard;
      let cut = this.cuts.get(child.shard);
      if (!cut || cut.range.min !== child.range.min || cut.range.max !== child.range.max) {
        cut = { range: child.range, cut: cutForChild(child.range) };
        this.cuts.set(child.shard, cut);
      }
      const created = new ObserverFeed({
        follower,
        target: { namespace: this.ref.namespace, shard: child.shard, term: child.term },
        range: child.range,
        keySorting: this.databaseConfig().keySorting,
        acquireView: () => this.splitViews.acquire(),
        subscribe: (listener) => shard.onEntriesApplied(listener),
        lastAppliedOffset: () => shard.logPipeline.lastAppliedOffset,
        cut: cut.cut,
        client: this.deps.replication,
        clock: this.deps.clock,
        log: this.log,
      });
      this.observers.set(observerKey, created);
      return created;
    });
    const offset = await feed.caughtUp(signal);
    this.log.info('observer caught up', { observer: observerKey, offset: offset.toString() });
    return offset;
  }

  /**
   * RemoveObserver (Oxia's, ADR 0025): the leader of `term` stops feeding the observer
   * `follower` of the child `targetShard`; the copy in flight fails on both ends. Idempotent:
   * an observer that is not (or no longer) fed is already removed.
   */
  async removeObserver(term: bigint, follower: string, targetShard: bigint): Promise<void> {
    await this.mutex.run(async () => {
      this.leaderOfTerm(term, 'remove an observer');
      const key = `${follower}:${targetShard}`;
      const observer = this.observers.get(key);
      if (!observer) return;
      this.observers.delete(key);
      await observer.close(new OxiaError('Aborted', `observer ${key} was removed`));
      this.log.info('removed an observer: its split copy stops', { observer: key, term: term.toString() });
    });
  }

  private leaderOfTerm(term: bigint, what: string): Extract<Activity, { kind: 'leader' }> {
    this.assertOpen();
    const refused = checkAddFollower(this.role, term);
    if (refused) throw refused;
    const leader = this.activity;
    if (leader.kind !== 'leader') throw new OxiaError('NodeIsNotLeader', `cannot ${what}: shard ${this.ref.shard} is not leading`);
    return leader;
  }

  /** GetStatus: term, role, head and commit offsets, store size, operations served. */
  async status(): Promise<ShardStatus> {
    this.assertOpen();
    const activity = this.activity;
    const headOffset = activity.kind === 'leader' ? activity.shard.logPipeline.headEntryId.offset : activity.replica.headOffset;
    const commitOffset = activity.kind === 'leader' ? activity.shard.logPipeline.committedOffset : activity.replica.appliedOffset;
    return { term: this.role.term, role: this.role.kind, headOffset, commitOffset, dbSizeBytes: await this.kv.sizeBytes(), ...this.metrics.opsTotals() };
  }

  /** Offsets, role, sessions and followers as they are now, for the node's metrics. */
  gauges(): ShardGauges {
    const activity = this.activity;
    const walEntries = walEntryCount(this.wal);
    if (activity.kind === 'replica') {
      const replica = activity.replica;
      return { ref: this.ref, role: this.role.kind, headOffset: replica.headOffset, commitOffset: replica.appliedOffset, sessions: 0, followers: [], walEntries };
    }
    const pipeline = activity.shard.logPipeline;
    return {
      ref: this.ref,
      role: this.role.kind,
      headOffset: pipeline.headEntryId.offset,
      commitOffset: pipeline.committedOffset,
      sessions: activity.shard.sessionCount,
      followers: [...activity.cursors.values()].map((c) => ({ follower: c.follower, ackOffset: c.acknowledgedOffset })),
      walEntries,
    };
  }

  /** The store's approximate size on disk, for the node's metrics. */
  storeSizeBytes(): Promise<bigint> {
    return this.kv.sizeBytes();
  }

  /**
   * DeleteShard: forgets the shard for good (unless the request is from an older term).
   * `beforeRemoval` runs once the term is accepted, before anything is closed or removed; when
   * it fails, the shard stays as it was.
   */
  delete(term: bigint, beforeRemoval?: () => Promise<void>): Promise<void> {
    this.installAbort?.abort();
    return this.mutex.run(async () => {
      this.assertOpen();
      const next = accepted(onDeleteShard(this.role, term));
      await beforeRemoval?.();
      this.recovery.close();
      this.cancelStoreScan();
      await this.closeFiles(new OxiaError('NodeIsNotMember', `shard ${this.ref.shard} was deleted`));
      this.role = next;
      await this.deps.walFactory.delete(this.ref);
      await this.deps.kvFactory.delete(this.ref);
      this.metrics.remove();
      this.log.info('shard deleted', { term: term.toString() });
    });
  }

  /** Stops every activity and closes the files (node shutdown). Idempotent. */
  close(): Promise<void> {
    this.installAbort?.abort();
    return this.mutex.run(async () => {
      if (this.closed) return;
      this.recovery.close();
      this.cancelStoreScan();
      await this.closeFiles(new OxiaError('Closed', 'the server is shutting down'));
    });
  }

  // ---- replication (this replica follows) -------------------------------------------

  /** Truncate: the new leader of `term` cuts our log after `head`; we become its follower. */
  truncate(term: bigint, head: EntryId): Promise<EntryId> {
    return this.mutex.run(async () => {
      this.assertOpen();
      this.assertWritable();
      const next = accepted(onTruncate(this.role, term));
      const replica = await this.replicaActivity();
      const newHead = await replica.truncate(head.offset);
      this.role = next;
      this.log.info('log truncated by the new leader', { term: term.toString(), requested: head.offset.toString(), head: newHead.offset.toString() });
      return { term, offset: newHead.offset };
    });
  }

  /**
   * Serves a Replicate stream of the leader of `term` (-1: the leader did not say, use
   * ours). Refused unless this replica is fenced at, or following, that term.
   */
  async replicate(term: bigint, appends: AsyncIterable<AppendMessage>, sendAck: AckSender, signal: AbortSignal): Promise<void> {
    const { replica, streamTerm } = await this.mutex.run(async () => {
      this.assertOpen();
      this.assertWritable();
      const streamTerm = term >= 0n ? term : this.role.term;
      // Whatever the term, a replica that never joined the shard says so (the leader then sends a snapshot).
      if (this.role.kind === 'NotMember') throw new OxiaError('NodeIsNotMember', `this node is not a member of shard ${this.ref.shard}`);
      accepted(onReplicate(this.role, streamTerm));
      return { replica: await this.replicaActivity(), streamTerm };
    });
    const onLeaderMessage = (leaseProbe: boolean): void => {
      if (leaseProbe) this.leasePromiseUntilMs = promiseAfterProbe(this.leasePromiseUntilMs, this.deps.clock.monotonicMs(), READ_LEASE_TIMING);
      if (this.role.kind === 'Fenced' && this.role.term === streamTerm) this.role = { kind: 'Follower', term: streamTerm };
    };
    try {
      await replica.serve(streamTerm, appends, sendAck, signal, onLeaderMessage);
    } catch (error) {
      if (isOxiaError(error, 'ReplicaDiverged')) await this.discardDivergedCopy(replica);
      throw error;
    }
  }

  /**
   * The replica found that its log or state differs from its leader's (ADR 0031): it drops
   * them (keeping its term and options, so the fence holds) and is left empty, which makes
   * its leader send it a snapshot, as to a wiped node. Until then it holds nothing, so it
   * cannot win an election with the copy it no longer trusts.
   */
  private discardDivergedCopy(replica: FollowerReplica): Promise<void> {
    return this.mutex.run(async () => {
      if (this.closed || this.activity.kind !== 'replica' || this.activity.replica !== replica) return;
      await replica.stop();
      const term = this.role.term;
      await this.wal.clear();
      this.kv = await resetStore(this.ref, this.deps.kvFactory, this.kv, term);
      if (this.options !== undefined && term >= 0n) await this.kv.write(termOps(term, this.options), TERM_IS_DURABLE);
      this.chain.reset(-1n, CHAIN_START_CRC);
      this.activity = { kind: 'replica', replica: await this.replicaOnFiles() };
      this.log.warn('diverged copy of the shard dropped; waiting for a snapshot from the leader', { term: term.toString() });
    });
  }

  /**
   * SendSnapshot: replaces this replica's log and store with the leader's store. The
   * first chunk is checked before anything is destroyed; a NewTerm aborts the install.
   * A replica that never joined (term -1, e.g. wiped) may take it, as in Oxia.
   * Resolves with the offset the replica now holds.
   */
  installSnapshot(chunks: AsyncIterable<SnapshotChunkMessage>, signal: AbortSignal): Promise<bigint> {
    return this.mutex.run(async () => {
      this.assertOpen();
      this.assertWritable();
      const abort = new AbortController();
      const onCallEnd = (): void => abort.abort();
      signal.addEventListener('abort', onCallEnd, { once: true });
      if (signal.aborted) abort.abort();
      this.installAbort = abort;
      const iterator = chunks[Symbol.asyncIterator]();
      const nextChunk = (it: AsyncIterator<SnapshotChunkMessage>) =>
        untilAborted(it.next(), abort.signal, () => new OxiaError('Aborted', 'the snapshot install was aborted (new term, shutdown, or the leader left)'));
      const startedMs = this.deps.clock.monotonicMs();
      try {
        const first = await nextChunk(iterator);
        if (first.done) throw new OxiaError('InvalidArgument', 'the snapshot stream held no chunk');
        const chunkTerm = first.value.term;
        if (this.role.kind === 'Leader') throw new OxiaError('InvalidStatus', 'cannot install a snapshot while leading');
        if (this.role.term !== -1n && chunkTerm !== -1n && chunkTerm !== this.role.term) {
          throw new OxiaError('InvalidTerm', `snapshot of term ${chunkTerm} for a replica of term ${this.role.term}`);
        }
        const term = this.role.term !== -1n ? this.role.term : chunkTerm;
        await this.endActivity(new OxiaError('NodeIsNotLeader', 'installing a snapshot'));
        await this.wal.clear();
        this.kv = await resetStore(this.ref, this.deps.kvFactory, this.kv, term, true);
        let loaded: { chunks: number; bytes: number };
        try {
          loaded = await loadSnapshotChunks(this.kv, first.value, iterator, nextChunk);
          const nowMs = BigInt(Math.trunc(this.deps.clock.nowMs()));
          const integrity = await this.installedIntegrity();
          // Durable, and with it the loaded chunks: the leader counts the offset this answers.
          await this.kv.write([{ type: 'del', key: INSTALLING_MARKER_KEY }, ...termOps(term, undefined, nowMs), integrityOp(integrity, 0n)], TERM_IS_DURABLE);
          this.chain.reset(integrity.offset, integrity.crc);
        } catch (error) {
          // Never leave a partial store behind: start over empty, keeping the fence.
          this.kv = await resetStore(this.ref, this.deps.kvFactory, this.kv, term);
          this.chain.reset(-1n, CHAIN_START_CRC);
          throw error;
        } finally {
          this.options = await readTermOptions(this.kv);
          this.activity = { kind: 'replica', replica: await this.replicaOnFiles() };
        }
        const state = await readCommitState(this.kv);
        this.role = term >= 0n ? { kind: 'Follower', term } : { kind: 'NotMember', term: -1n };
        this.log.info('snapshot installed', { term: term.toString(), chunks: loaded.chunks, bytes: loaded.bytes, commitOffset: state.commitOffset.toString() });
        this.metrics.snapshotCompleted('received', loaded.bytes, this.deps.clock.monotonicMs() - startedMs);
        return state.commitOffset;
      } catch (error) {
        this.metrics.snapshotFailed('received', 0);
        if (isStorageFailure(error)) this.storageFailed(error);
        throw error;
      } finally {
        signal.removeEventListener('abort', onCallEnd);
        if (this.installAbort === abort) this.installAbort = undefined;
        void iterator.return?.()?.catch(() => undefined);
      }
    });
  }

  /**
   * The integrity record of a store just loaded from a snapshot: the leader's chain value when
   * its record is of the snapshot's offset (a split's child gets none: its chain is unknown),
   * and the digest of what was loaded, counted here. A leader's digest that is not the digest
   * of what it sent is reported; the follower keeps the leader's, so that the ensemble agrees.
   */
  private async installedIntegrity(): Promise<{ offset: bigint; crc: number | undefined; digest: bigint }> {
    const { commitOffset } = await readCommitState(this.kv);
    const sent = await readIntegrity(this.kv);
    // Turns the event loop while it reads the whole store: health checks are answered meanwhile.
    const digest = await scanDigest(yieldingScans(this.kv));
    if (sent && sent.offset === commitOffset && sent.digest !== digest) {
      this.log.error("the snapshot's records do not give the leader's digest: the leader's store may be damaged", {
        offset: commitOffset.toString(),
      });
      this.metrics.diverged('stored_digest');
      return { offset: commitOffset, crc: sent.crc, digest: sent.digest };
    }
    return { offset: commitOffset, crc: sent && sent.offset === commitOffset ? sent.crc : undefined, digest };
  }

  // ---- the periodic scan of the store (ADR 0031) ---------------------------------------

  private scheduleStoreScan(): void {
    const intervalMs = this.integrity.storeScanIntervalMs;
    if (intervalMs <= 0 || this.closed) return;
    this.cancelStoreScan = this.deps.clock.schedule(intervalMs, () => {
      void this.scanStore().finally(() => this.scheduleStoreScan());
    });
  }

  /**
   * Compares the store's records, at one consistent point, with the digest it recorded: a record
   * changed underneath the running replica shows here, as one changed at rest shows at open. A
   * follower then drops its copy as at open and gets a snapshot; its stream ends with
   * ReplicaDiverged, so that its leader sends it at once. A leader's own store is the one its
   * followers copy: it logs and counts what it found, and keeps leading (see ADR 0031, "Not done").
   */
  private async scanStore(): Promise<void> {
    if (this.closed || this.recovery.cause || this.installAbort) return;
    const kv = this.kv;
    const startedMs = this.deps.clock.monotonicMs();
    let mismatch: DigestMismatch | undefined;
    try {
      mismatch = await storeDigestMismatchNow(kv);
    } catch (error) {
      // The store was replaced (a snapshot install, a dropped copy) or closed while it was read.
      if (!this.closed && this.kv === kv) this.log.warn('the periodic scan of the store failed', { error: String(error) });
      return;
    }
    if (this.closed || this.kv !== kv) return;
    if (!mismatch) {
      this.log.debug('periodic scan: the store gives the digest it recorded', { tookMs: Math.round(this.deps.clock.monotonicMs() - startedMs) });
      return;
    }
    this.metrics.diverged('stored_digest');
    const activity = this.activity;
    if (activity.kind === 'leader' || this.deps.soleReplica) {
      // A sole replica (standalone) has no leader to be rebuilt from either (ADR 0033).
      logStoreMismatch(this.log, mismatch, 'this leader keeps leading (its followers copy its store): move leadership away and rebuild this replica');
      return;
    }
    logStoreMismatch(this.log, mismatch, 'found by the periodic scan; the replica is dropped and rebuilt from a snapshot');
    activity.replica.distrust(new OxiaError('ReplicaDiverged', `the store's records do not give the digest it recorded after entry ${mismatch.offset}`));
    await this.discardDivergedCopy(activity.replica);
  }

  // ---- clients ------------------------------------------------------------------------

  /** The LeaderShard serving clients; otherwise the error a client gets (with `leaderHint` when known). */
  servingLeader(leaderHint: string | undefined): LeaderShard {
    if (this.closed) throw new OxiaError('Closed', `shard ${this.ref.shard} is closing`);
    const refused = checkServesClients(this.role, this.ref.shard, leaderHint);
    if (refused) throw refused;
    const activity = this.activity;
    if (activity.kind !== 'leader') throw new Error('bug: a Leader role without a leader activity');
    return activity.shard;
  }

  /** Drops log segments and notifications past retention; the log is never trimmed past the applied offset. */
  async applyRetention(walRetentionMs: number, notificationsRetentionMs: number): Promise<void> {
    if (this.closed || this.recovery.cause) return;
    const activity = this.activity;
    if (activity.kind === 'leader') {
      await activity.shard.applyRetention(walRetentionMs, notificationsRetentionMs);
      return;
    }
    await applyRetention({
      wal: this.wal,
      kv: this.kv,
      nowMs: this.deps.clock.nowMs(),
      appliedOffset: activity.replica.appliedOffset,
      walRetentionMs,
      notificationsRetentionMs: this.databaseConfig().notificationsEnabled ? notificationsRetentionMs : undefined,
      open: () => !this.closed,
    });
  }

  // ---- internals ----------------------------------------------------------------------

  /** The head this replica holds: the log's newest entry, else (empty log after a snapshot) the store's offset. */
  private localHead(): EntryId {
    const activity = this.activity;
    if (activity.kind === 'replica') return activity.replica.headEntryId();
    const walHead = this.wal.lastEntryId();
    return walHead.offset >= 0n ? walHead : { term: walHead.term, offset: activity.shard.logPipeline.lastAppliedOffset };
  }

  /** The follower activity, ending a leader activity left by a BecomeLeader that never finished. */
  private async replicaActivity(): Promise<FollowerReplica> {
    if (this.activity.kind === 'leader') await this.endActivity(new OxiaError('NodeIsNotLeader', `shard ${this.ref.shard} follows another leader`));
    const activity = this.activity;
    if (activity.kind !== 'replica') throw new Error('bug: no replica activity after ending leadership');
    return activity.replica;
  }

  /**
   * Ends leading (cursors closed, pending writes failed with `why`, sessions stopped) or
   * following (stream ended, appends and applies finished); afterwards the replica is
   * idle, with a fresh FollowerReplica reading the state the files now hold.
   */
  private async endActivity(why: OxiaError): Promise<void> {
    const activity = this.activity;
    if (activity.kind === 'replica') {
      await activity.replica.stop();
      return;
    }
    await Promise.all([...activity.cursors.values()].map((c) => c.close()));
    const feeds = [...this.observers.values()];
    this.observers.clear();
    this.cuts.clear();
    await Promise.all(feeds.map((f) => f.close(why)));
    await activity.shard.stop(why);
    this.activity = { kind: 'replica', replica: await this.replicaOnFiles() };
  }

  private async closeFiles(why: OxiaError): Promise<void> {
    this.closed = true;
    try {
      await this.endActivity(why);
    } finally {
      await this.wal.close().catch((e: unknown) => this.log.warn('closing the WAL failed', { error: String(e) }));
      await this.kv.close().catch((e: unknown) => this.log.warn('closing the store failed', { error: String(e) }));
    }
  }

  private async attachFollower(leader: Extract<Activity, { kind: 'leader' }>, name: string, head: EntryId): Promise<void> {
    const start = await this.truncateFollowerIfNeeded(leader, name, head);
    const cursor = new FollowerCursor(
      {
        follower: name,
        target: { namespace: this.ref.namespace, shard: this.ref.shard, term: leader.term },
        wal: this.wal,
        kv: this.kv,
        pipeline: leader.shard.logPipeline,
        lease: leader.shard.readLease,
        leaseTiming: READ_LEASE_TIMING,
        client: this.deps.replication,
        clock: this.deps.clock,
        log: this.log,
        metrics: this.metrics,
        chain: this.chain,
      },
      start.offset,
    );
    leader.cursors.set(name, cursor);
    this.log.info('follower attached', { follower: name, head: `${head.term}:${head.offset}`, from: start.offset.toString() });
  }

  /**
   * Where the follower's log stops agreeing with ours. Entries of our own term come only
   * from us, so a head of our term is in our log. For an older term: terms never decrease
   * along a log, so the follower's head entry is in our log exactly when our last entry of
   * a term not above the follower's head term is at or beyond its head offset with that
   * very term. Otherwise the follower is truncated to that last shared entry.
   */
  private async truncateFollowerIfNeeded(leader: Extract<Activity, { kind: 'leader' }>, name: string, head: EntryId): Promise<EntryId> {
    const ours = leader.electionHead;
    if (head.term === ours.term && head.offset <= ours.offset) return head;
    if (head.term > leader.term) {
      throw new OxiaError('InvalidTerm', `follower ${name} has an entry of term ${head.term}, newer than this leader's term ${leader.term}`);
    }
    if (head.term === leader.term) {
      if (head.offset <= leader.shard.logPipeline.headEntryId.offset) return head;
      throw new OxiaError('InvalidTerm', `follower ${name} has entries of term ${head.term} this leader never wrote`);
    }
    const shared = await this.lastEntryOfTermAtMost(head.term);
    if (head.term === shared.term && head.offset <= shared.offset) return head;
    const timeout = new AbortController();
    const cancel = this.deps.clock.schedule(TRUNCATE_TIMEOUT_MS, () => timeout.abort());
    try {
      const truncated = await untilAborted(
        this.deps.replication.truncate(name, { namespace: this.ref.namespace, shard: this.ref.shard, term: leader.term }, shared),
        timeout.signal,
        () => new OxiaError('ResourceUnavailable', `follower ${name} did not answer Truncate within ${TRUNCATE_TIMEOUT_MS} ms`),
      );
      this.log.info('follower truncated', { follower: name, head: `${head.term}:${head.offset}`, to: `${truncated.term}:${truncated.offset}` });
      return truncated;
    } finally {
      cancel();
    }
  }

  /** Our newest entry whose term is at most `term` (binary search: terms never decrease along the log). */
  private async lastEntryOfTermAtMost(term: bigint): Promise<EntryId> {
    let lo = this.wal.firstOffset();
    let hi = this.wal.lastEntryId().offset;
    if (lo < 0n || hi < 0n) return INVALID_ENTRY_ID;
    const termAt = async (offset: bigint): Promise<bigint> => {
      for await (const entry of this.wal.read(offset)) return entry.term;
      throw new Error(`WAL has no entry at offset ${offset}`);
    };
    if ((await termAt(lo)) > term) return INVALID_ENTRY_ID;
    while (lo < hi) {
      const mid = lo + (hi - lo + 1n) / 2n;
      if ((await termAt(mid)) <= term) lo = mid;
      else hi = mid - 1n;
    }
    return { term: await termAt(lo), offset: lo };
  }

  private assertOpen(): void {
    if (this.closed) throw new OxiaError('Closed', `shard ${this.ref.shard} is closed`);
  }

  private assertWritable(): void {
    const cause = this.recovery.cause;
    if (cause) throw cause;
  }

  /** Runs a write of the protocol's own (the term); a storage failure starts the recovery. */
  private async writing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (e) {
      if (isStorageFailure(e)) this.storageFailed(e);
      throw e;
    }
  }

  /**
   * Stops writing after a storage failure: a leader steps down (pending writes fail with the
   * cause, clients are sent elsewhere), a follower ends its stream; the replica stays fenced
   * at its term. The node's health tells the coordinator, which elects another leader.
   * A sole leader (replication factor 1, as every shard of a standalone node) has no other
   * replica to hand over to: it keeps leading, refusing writes with the cause and serving
   * reads from what it applied (ADR 0029), and leads again once its files reopen.
   */
  private stopWriting(cause: OxiaError): Promise<void> {
    return this.mutex.run(async () => {
      if (this.closed) return;
      const sole = this.soleLeader();
      if (sole) {
        this.soleLeaderTerm = sole.term;
        sole.shard.logPipeline.refuseWrites(cause);
        this.log.warn('refusing writes: this sole replica cannot write; reads go on', { term: this.role.term.toString() });
        return;
      }
      const wasLeading = this.activity.kind === 'leader';
      await this.endActivity(cause);
      if (this.role.kind === 'Leader' || this.role.kind === 'Follower') this.role = { kind: 'Fenced', term: this.role.term };
      if (wasLeading) this.log.warn('stepped down: this replica cannot write', { term: this.role.term.toString() });
    });
  }

  /**
   * After a storage failure, once the disk takes writes again: closes the log and store and opens
   * them from disk as at start (the log's torn tail is cut; the store holds only whole batches), so
   * that no state of the failed writes stays in memory. The replica stays fenced at its term;
   * a sole leader leads again.
   */
  private reopenFiles(): Promise<void> {
    return this.mutex.run(async () => {
      this.assertOpen();
      const soleTerm = this.soleLeaderTerm;
      if (soleTerm !== undefined) this.role = { kind: 'Fenced', term: soleTerm };
      await this.endActivity(new OxiaError('Aborted', `shard ${this.ref.shard} is reopening its files`));
      await this.wal.close().catch((e: unknown) => this.log.warn('closing the WAL failed', { error: String(e) }));
      await this.kv.close().catch((e: unknown) => this.log.warn('closing the store failed', { error: String(e) }));
      const wal = await this.deps.walFactory.open(this.ref);
      let kv: KvStore;
      try {
        kv = await this.deps.kvFactory.open(this.ref);
      } catch (e) {
        await wal.close().catch(() => undefined);
        throw e;
      }
      this.wal = wal;
      this.kv = kv;
      const interrupted = await readInstallingMarker(kv);
      if (interrupted !== undefined) {
        this.log.warn('a snapshot install was interrupted; the shard starts over empty', { term: interrupted.toString() });
        await this.wal.clear();
        this.kv = await resetStore(this.ref, this.deps.kvFactory, this.kv, interrupted);
      }
      this.activity = { kind: 'replica', replica: await this.replicaOnFiles() };
      if (soleTerm !== undefined) await this.leadAgainAlone(soleTerm);
    });
  }

  /** The leader activity when this replica leads with no follower to hand over to (replication factor 1). */
  private soleLeader(): Extract<Activity, { kind: 'leader' }> | undefined {
    const activity = this.activity;
    return this.role.kind === 'Leader' && activity.kind === 'leader' && activity.replicationFactor === 1 ? activity : undefined;
  }

  /**
   * A sole leader whose files were reopened leads again at its term: nobody else could have
   * been elected meanwhile (a NewTerm is refused while the replica cannot write). Its own
   * fsync commits what the log holds, which is applied before it serves again.
   */
  private async leadAgainAlone(term: bigint): Promise<void> {
    await this.endActivity(new OxiaError('NodeIsNotLeader', `shard ${this.ref.shard} is reopening`));
    const leader = await this.startLeaderActivity(term, 1);
    await leader.shard.logPipeline.waitApplied(leader.electionHead.offset, new AbortController().signal);
    await leader.shard.startSessions();
    this.role = { kind: 'Leader', term, replicationFactor: 1 };
    this.soleLeaderTerm = undefined;
    this.log.info('leading again after reopening the files', { term: term.toString() });
  }
}

/** Says what a store that no longer gives its recorded digest is found to hold (ADR 0031). */
function logStoreMismatch(log: Logger, mismatch: DigestMismatch, consequence: string): void {
  log.error(`the store's records do not give the digest it recorded; ${consequence}`, {
    offset: mismatch.offset.toString(),
    recorded: mismatch.recorded.toString(16),
    scanned: mismatch.scanned.toString(16),
  });
}

function accepted(transition: Transition): ShardRole {
  if (!transition.ok) throw transition.error;
  return transition.role;
}

/**
 * Replaces the store with an empty one holding only `term` (and, when `installing`, the
 * marker that says an install is under way). Used to start a snapshot install and to
 * discard a partial one.
 */
async function resetStore(ref: ShardRef, factory: KvStoreFactory, kv: KvStore, term: bigint, installing = false): Promise<KvStore> {
  await kv.close();
  await factory.delete(ref);
  const fresh = await factory.open(ref);
  const ops = term >= 0n ? termOps(term) : [];
  if (installing) ops.push(installingMarkerOp(term));
  if (ops.length > 0) await fresh.write(ops, TERM_IS_DURABLE);
  return fresh;
}
