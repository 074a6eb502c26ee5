import { ServingStatus } from '../../domain/wire/replication.js';
import type { NamespaceConfig } from '../../domain/cluster/cluster-config.js';
import type { ShardMetadata } from '../../domain/cluster/cluster-status.js';
import { nodeId, sameNodeAddress, type NodeAddress } from '../../domain/cluster/node-address.js';
import { isStatusVersionConflict } from '../../domain/cluster/status-conflict.js';
import { backoffDelayMs, type BackoffPolicy } from '../../domain/coordinator/backoff.js';
import {
  addFollowerRequest,
  becomeLeaderRequest,
  changeApplies,
  describeChange,
  beginElection,
  completeElection,
  decideLeader,
  fencingPlan,
  fencingProgress,
  leaseHolder,
  missedFollowers,
  newTermOptions,
  newTermRequest,
  type EnsembleChange,
} from '../../domain/coordinator/election.js';
import type { FencedMember } from '../../domain/coordinator/leader-choice.js';
import { assessShard, type MemberReport } from '../../domain/coordinator/reconcile.js';
import { containsNode, findShard, shardLabel, withShard, withoutNode, withoutShard, type ShardKey } from '../../domain/coordinator/status-edit.js';
import { isOxiaError, OxiaError } from '../../domain/errors/oxia-error.js';
import { INVALID_ENTRY_ID } from '../../domain/wal/log-entry.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { Metrics } from '../ports/metrics.js';
import type { StorageNodeClient } from '../ports/storage-node-client.js';
import type { CoordinatorSettings } from './coordinator-settings.js';
import { pause } from '../pause.js';
import type { StatusKeeper } from './status-keeper.js';
import type { ClusterJournal } from '../console/cluster-journal.js';

/** What a shard controller needs from the coordinator around it. */
export interface ShardControllerContext {
  readonly keeper: StatusKeeper;
  readonly client: StorageNodeClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly settings: CoordinatorSettings;
  readonly random: () => number;
  /** Where elections are recorded with their reasons (the console's recent events). */
  readonly journal: ClusterJournal;
  /** The current member nodes by node id (to refresh moved addresses). */
  members(): ReadonlyMap<string, NodeAddress>;
  namespaceConfig(namespace: string): NamespaceConfig | undefined;
  /** Whether the node's monitor considers it running (a node known down is not waited for). */
  nodeRunning(node: NodeAddress): boolean;
  /** Shards led per node id, counting leaders being installed by other shards' elections. */
  leadersPerNode(except: ShardKey): ReadonlyMap<string, number>;
  /** Marks `node` as about to lead `key` (for the leader counts of concurrent elections); undefined clears. */
  leaderInProgress(key: ShardKey, node: NodeAddress | undefined): void;
  /** The shard's leader or status changed: clients must be told. */
  onShardChanged(key: ShardKey): void;
  onShardDeleted(key: ShardKey): void;
  onEnsembleChanged(key: ShardKey): void;
  /** Every follower caught up after an election: the shard may change its ensemble again. */
  onReadyForEnsembleChange(key: ShardKey): void;
}

/** "node-0 -> node-3", "+node-3", "-node-0": an ensemble change in a few characters. */
function ensembleChangeText(change: EnsembleChange): string {
  const { from, to } = describeChange(change);
  if (from && to) return `${from} -> ${to}`;
  return to ? `+${to}` : `-${from ?? '?'}`;
}

/** Errors after which the controller must stop: another coordinator wrote, or it is closing. */
function isFatal(e: unknown): boolean {
  return isStatusVersionConflict(e) || isOxiaError(e, 'Closed');
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Drives one shard through Oxia's replication protocol: its first election, the election after
 * its leader fails, ensemble changes, the background re-adding of members that missed an
 * election, the cleanup of replicas left on removed nodes, and deletion.
 *
 * Actions run one at a time, in order (as Oxia's per-shard event loop): an election that keeps
 * failing (no quorum) retries with backoff and holds later actions until it succeeds. The
 * follower work of a term runs in the background and is cancelled when the next election starts.
 */
export class ShardController {
  private readonly closing = new AbortController();
  private queue: Promise<void> = Promise.resolve();
  /** Cancels the background work of the current term (follower re-adds, catch-up, cleanup). */
  private termWork: AbortController | undefined;
  /** Retry pauses to cut short when a node comes back. */
  private readonly wakers = new Set<() => void>();
  private followersCaughtUp = true;
  private readonly pendingDownChecks = new Set<string>();
  private changeInProgress = false;
  private readonly log: Logger;
  private readonly labels: Record<string, string>;
  private readonly metrics: {
    readonly elections: { inc(labels?: Record<string, string>, by?: number): void };
    readonly electionsFailed: { inc(labels?: Record<string, string>, by?: number): void };
    readonly failovers: { inc(labels?: Record<string, string>, by?: number): void };
    readonly electionLatency: { observe(labels: Record<string, string>, value: number): void };
    readonly term: { set(labels: Record<string, string>, value: number): void };
  };

  constructor(
    readonly key: ShardKey,
    private readonly ctx: ShardControllerContext,
  ) {
    this.log = ctx.log.child({ component: 'shard-controller', namespace: key.namespace, shard: key.shard.toString() });
    // oxia_namespace, as Oxia's series: a Kubernetes scrape adds its own `namespace` label.
    this.labels = { oxia_namespace: key.namespace, shard: key.shard.toString() };
    const m = ctx.metrics;
    this.metrics = {
      elections: m.counter('oxia_coordinator_leader_elections_total', 'Completed leader elections', ['oxia_namespace', 'shard']),
      electionsFailed: m.counter('oxia_coordinator_leader_election_failed_total', 'Failed leader election attempts', ['oxia_namespace', 'shard']),
      failovers: m.counter('oxia_coordinator_leader_failovers_total', 'Elections started because the leader was declared down', ['oxia_namespace', 'shard']),
      electionLatency: m.histogram('oxia_coordinator_leader_election_latency_milliseconds', 'Time to elect a leader, from the first attempt', ['oxia_namespace', 'shard']),
      term: m.gauge('oxia_coordinator_term', 'The term of the shard', ['oxia_namespace', 'shard']),
    };
  }

  /** First action: check the stored state against the nodes, elect where needed. */
  start(): void {
    this.enqueue('start', () => this.initialize());
  }

  /** A node was declared down: if it leads this shard, elect a new leader. */
  nodeUnavailable(node: NodeAddress): void {
    // One pending check per node is enough: it looks at the shard as it is when it runs.
    const id = nodeId(node);
    if (this.pendingDownChecks.has(id)) return;
    this.pendingDownChecks.add(id);
    this.enqueue('node down', async () => {
      this.pendingDownChecks.delete(id);
      const meta = this.metadata();
      if (!meta || meta.status === 'Deleting' || !meta.leader || nodeId(meta.leader) !== nodeId(node)) return;
      this.log.info('the leader is down: electing a new one', { leader: nodeId(node) });
      this.metrics.failovers.inc(this.labels);
      await this.elect(`the leader ${nodeId(node)} was declared down`);
    });
  }

  /**
   * The health watch of a node reconnected. If it leads this shard, ask it: a node that
   * restarted between two failed checks was never declared down, and has forgotten that it
   * leads (found by the simulator, ADR 0032). Elect when it does not say LEADER at the term.
   */
  leaderReconnected(node: NodeAddress, attempt = 0): void {
    const id = nodeId(node);
    const meta = this.metadata();
    if (!meta?.leader || nodeId(meta.leader) !== id || meta.status !== 'SteadyState') return;
    this.enqueue('leader reconnected', async () => {
      const now = this.metadata();
      if (!now?.leader || nodeId(now.leader) !== id || now.status !== 'SteadyState') return;
      let answer: string;
      try {
        const r = await this.ctx.client.getStatus(node, { shard: this.key.shard }, this.closing.signal);
        if (r.status === ServingStatus.LEADER && r.term === now.term) return;
        answer = `${ServingStatus[r.status] ?? r.status} at term ${r.term}`;
      } catch (e) {
        // A restarted node that has not opened the shard again says it is no member of it.
        if (!isOxiaError(e, 'NodeIsNotMember')) {
          // A node that stopped answering is the health checks' to declare down. One that answers
          // them but whose GetStatus was lost (a dropped message) must be asked again: nothing
          // else would notice that it forgot the shard (sim seed 101359, ADR 0032).
          if (this.ctx.nodeRunning(node) && !this.closing.signal.aborted && !isOxiaError(e, 'Aborted')) {
            const delayMs = backoffDelayMs(this.ctx.settings.followerRetry, attempt, this.ctx.random());
            this.ctx.clock.schedule(delayMs, () => {
              if (!this.closing.signal.aborted) this.leaderReconnected(node, attempt + 1);
            });
          }
          return;
        }
        answer = 'that it is no member';
      }
      const reason = `the leader ${id} answers ${answer} after its health watch reconnected (expected LEADER at term ${now.term})`;
      this.log.warn('the leader no longer leads: electing', { reason });
      await this.elect(reason);
    });
  }

  /** A node came back: retries waiting for it go now rather than after their backoff. */
  nodeAvailable(_node: NodeAddress): void {
    for (const wake of [...this.wakers]) wake();
  }

  /**
   * Elects again if an ensemble member is now known under a new address (same name), so that
   * the ensemble and the leader clients are sent to carry the new address (Oxia's
   * SyncServerAddress). Checked when the action runs: an election in between may have done it.
   */
  refreshAddresses(): void {
    this.enqueue('address refresh', async () => {
      const meta = this.metadata();
      if (!meta || meta.status === 'Deleting') return;
      const members = this.ctx.members();
      const moved = meta.ensemble.filter((n) => {
        const now = members.get(nodeId(n));
        return now !== undefined && !sameNodeAddress(now, n);
      });
      if (moved.length === 0) return;
      this.log.info('electing again: ensemble members have new addresses', { nodes: moved.map(nodeId) });
      await this.elect(`ensemble members have new addresses: ${moved.map(nodeId).join(', ')}`);
    });
  }

  /** A new election whatever the leader's state: a split of this shard was rolled back, and a new term ends its freeze. */
  electAgain(why: string): void {
    this.enqueue(why, async () => {
      const meta = this.metadata();
      if (!meta || meta.status === 'Deleting') return;
      this.log.info('electing again', { reason: why });
      await this.elect(why);
    });
  }

  /**
   * A new election to move the leadership (leader balancing); resolves with the node id of the
   * leader afterwards (the same one when nothing better was found), undefined when none.
   */
  moveLeader(): Promise<string | undefined> {
    return new Promise<string | undefined>((resolve) => {
      this.enqueue('leader move', async () => {
        try {
          const meta = this.metadata();
          if (!meta || meta.status !== 'SteadyState') return;
          this.log.info('electing again to balance leaders', { leader: meta.leader ? nodeId(meta.leader) : undefined });
          await this.elect('balancing leaders');
        } finally {
          const leader = this.metadata()?.leader;
          resolve(leader ? nodeId(leader) : undefined);
        }
      }, () => resolve(undefined));
    });
  }

  /** Whether an ensemble change can start now (Oxia refuses one while followers are catching up). */
  get readyForEnsembleChange(): boolean {
    return this.followersCaughtUp && !this.changeInProgress && !this.closing.signal.aborted;
  }

  /**
   * Swaps `change.from` for `change.to` (or only adds or removes one) through an election (Oxia's ChangeEnsemble). Resolves
   * false when the change no longer applies or the shard was not ready. `reason` says why the
   * coordinator wants it (recorded with the election).
   */
  changeEnsemble(change: EnsembleChange, reason: string): Promise<boolean> {
    if (!this.readyForEnsembleChange) return Promise.resolve(false);
    this.changeInProgress = true;
    return new Promise<boolean>((resolve) => {
      this.enqueue('ensemble change', async () => {
        try {
          const meta = this.metadata();
          if (!meta || meta.status === 'Deleting' || !changeApplies(meta.ensemble, change)) {
            resolve(false);
            return;
          }
          this.log.info('changing the ensemble', describeChange(change));
          resolve(await this.elect(`ensemble change (${ensembleChangeText(change)}): ${reason}`, change));
        } finally {
          this.changeInProgress = false;
          resolve(false);
        }
      }, () => {
        this.changeInProgress = false;
        resolve(false);
      });
    }).finally(() => this.ctx.onEnsembleChanged(this.key));
  }

  /** Deletes the shard from every node holding it, then from the status. */
  delete(): void {
    this.enqueue('delete', () => this.deleteEverywhere());
  }

  close(): void {
    this.closing.abort();
    this.termWork?.abort();
  }

  private get closed(): boolean {
    return this.closing.signal.aborted || this.ctx.keeper.lost;
  }

  private metadata(): ShardMetadata | undefined {
    return findShard(this.ctx.keeper.current(), this.key);
  }

  /** Queues `action`; `onSkipped` runs instead when the controller stopped before its turn. */
  private enqueue(what: string, action: () => Promise<void>, onSkipped?: () => void): void {
    this.queue = this.queue.then(async () => {
      if (this.closed) {
        onSkipped?.();
        return;
      }
      try {
        await action();
      } catch (e) {
        if (!isFatal(e)) this.log.error('shard action failed', { action: what, error: describe(e) });
      }
    });
  }

  // ------------------------------------------------------------------ start and reconciliation

  private async initialize(): Promise<void> {
    const meta = this.metadata();
    if (!meta) return;
    this.metrics.term.set(this.labels, Number(meta.term));
    if (meta.status === 'Deleting') {
      await this.deleteEverywhere();
      return;
    }
    if (meta.status !== 'SteadyState' || !meta.leader) {
      await this.elect(meta.leader ? `the shard is in state ${meta.status}` : 'the shard has no leader yet');
      return;
    }
    this.log.info('verifying the stored leader', { leader: nodeId(meta.leader), term: meta.term.toString() });
    const reports = await Promise.all(meta.ensemble.map((node) => this.report(node)));
    const assessment = assessShard(meta, reports);
    if (assessment.kind === 'elect') {
      this.log.warn('the nodes disagree with the stored status: electing', { reason: assessment.reason });
      await this.elect(`the nodes disagree with the stored status: ${assessment.reason}`);
      return;
    }
    this.log.info('the stored leader leads', { leader: nodeId(meta.leader), reattach: assessment.reattach.map(nodeId) });
    const work = this.newTermWork();
    for (const follower of assessment.reattach) void this.reattachFollower(work.signal, meta.term, meta.leader, follower);
    void this.cleanUpRemovedNodes(work.signal, meta.term);
  }

  private async report(node: NodeAddress): Promise<MemberReport> {
    try {
      const r = await this.ctx.client.getStatus(node, { shard: this.key.shard }, this.closing.signal);
      return { node, ok: true, status: r.status, term: r.term };
    } catch (e) {
      return { node, ok: false, error: describe(e) };
    }
  }

  // ------------------------------------------------------------------ elections

  /** Elects until it succeeds; false when the controller stopped first. `reason` is why, for the journal. */
  private async elect(reason: string, change?: EnsembleChange): Promise<boolean> {
    const started = this.ctx.clock.monotonicMs();
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const elected = await this.electOnce(change);
        this.ctx.journal.record({
          atMs: this.ctx.clock.nowMs(),
          kind: 'election',
          shard: shardLabel(this.key),
          summary: `${elected.leader} leads, term ${elected.term}${attempt > 0 ? ` (after ${attempt} failed attempts)` : ''}`,
          reason,
        });
        this.metrics.elections.inc(this.labels);
        this.metrics.electionLatency.observe(this.labels, this.ctx.clock.monotonicMs() - started);
        return true;
      } catch (e) {
        if (isFatal(e) || this.closed) return false;
        this.metrics.electionsFailed.inc(this.labels);
        const delayMs = backoffDelayMs(this.ctx.settings.electionRetry, attempt, this.ctx.random());
        this.log.warn('leader election failed; retrying', { error: describe(e), attempt, retryInMs: delayMs });
        await pause(this.ctx.clock, delayMs, this.closing.signal, this.wakers);
      }
    }
    return false;
  }

  private async electOnce(change: EnsembleChange | undefined): Promise<{ readonly leader: string; readonly term: bigint }> {
    const { keeper, client } = this.ctx;
    const current = this.metadata();
    if (!current) throw new OxiaError('Closed', `shard ${shardLabel(this.key)} is no longer in the cluster status`);
    // The background work of the old term must not act during the new one.
    this.termWork?.abort();
    this.termWork = undefined;
    this.followersCaughtUp = false;

    // A change already persisted by a failed attempt (or before a restart) is not applied twice.
    const pendingChange = change && changeApplies(current.ensemble, change) ? change : undefined;
    const holder = leaseHolder(current);
    const election = beginElection(current, this.ctx.members(), pendingChange);
    // Persisted before any NewTerm: a term is never handed out twice, even across crashes.
    await keeper.update((s) => withShard(s, this.key, election));
    this.metrics.term.set(this.labels, Number(election.term));
    this.log.info('starting an election', { term: election.term.toString(), ensemble: election.ensemble.map(nodeId), removed: election.removedNodes.map(nodeId) });

    const fenced = await this.fence(election, holder);
    const decision = decideLeader(election, fenced, this.ctx.leadersPerNode(this.key), this.key.shard);
    if (!decision.ok) throw new OxiaError('ResourceUnavailable', decision.reason);

    const leader = decision.leader.node;
    this.ctx.leaderInProgress(this.key, leader);
    try {
      await client.becomeLeader(leader, becomeLeaderRequest(this.key, election, decision.followers), this.closing.signal);
      await keeper.update((s) => withShard(s, this.key, completeElection(election, leader)));
    } finally {
      this.ctx.leaderInProgress(this.key, undefined);
    }
    this.log.info('elected a leader', {
      term: election.term.toString(),
      leader: nodeId(leader),
      head: `${decision.leader.head.term}/${decision.leader.head.offset}`,
      followers: decision.followers.map((f) => nodeId(f.node)),
    });
    this.ctx.onShardChanged(this.key);

    const work = this.newTermWork();
    for (const member of missedFollowers(election, decision)) void this.reattachFollower(work.signal, election.term, leader, member);
    void this.awaitCatchUpThenCleanUp(work.signal, election.term, decision.leader, decision.followers.map((f) => f.node));
    return { leader: nodeId(leader), term: election.term };
  }

  /**
   * NewTerm to every member of the fencing plan; resolves with the acceptances once the outcome
   * is known. The replica that may hold a read lease (`holder`, see leaseHolder), when it is
   * running, is fenced first: once it accepted, the others are told not to wait for its lease;
   * if it has not answered within the health-check timeout, they are sent NewTerm anyway (and
   * wait for the lease to run out).
   */
  private fence(election: ShardMetadata, holder: NodeAddress | undefined): Promise<FencedMember[]> {
    const plan = fencingPlan(election);
    const options = newTermOptions(this.ctx.namespaceConfig(this.key.namespace));
    const request = newTermRequest(this.key, election.term, options);
    const first = holder && this.ctx.nodeRunning(holder) ? plan.members.find((n) => nodeId(n) === nodeId(holder)) : undefined;
    const pending = new AbortController();
    const onClose = (): void => pending.abort();
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    const accepted: FencedMember[] = [];
    let failed = 0;
    return new Promise<FencedMember[]>((resolve) => {
      let cancelGrace: (() => void) | undefined;
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        cancelGrace?.();
        this.closing.signal.removeEventListener('abort', onClose);
        // Answers still outstanding are not waited for (Oxia cancels them too).
        pending.abort();
        resolve([...accepted]);
      };
      const outstanding = new Set(plan.members);
      const check = (): void => {
        if (outstanding.size === 0) return finish();
        const progress = fencingProgress(plan, accepted.length, failed);
        if (progress === 'failed' || this.closing.signal.aborted) return finish();
        if (progress !== 'quorum' || cancelGrace) return;
        // A majority is enough, but the other members get a moment so that a healthy one is
        // not left out of the new term (and its head counts in the leader choice). Nodes known
        // to be down (the leader whose failure started this election) are not waited for.
        if ([...outstanding].every((n) => !this.ctx.nodeRunning(n))) return finish();
        cancelGrace = this.ctx.clock.schedule(this.ctx.settings.fencingGracePeriodMs, finish);
      };
      const send = (node: NodeAddress, message: typeof request, then?: (ok: boolean) => void): void => {
        this.ctx.client.newTerm(node, message, pending.signal).then(
          (response) => {
            if (done) return;
            outstanding.delete(node);
            accepted.push({ node, head: response.headEntryId ?? INVALID_ENTRY_ID });
            then?.(true);
            check();
          },
          (e: unknown) => {
            if (done) return;
            outstanding.delete(node);
            failed++;
            if (!isOxiaError(e, 'Aborted')) this.log.warn('NewTerm failed', { node: nodeId(node), term: election.term.toString(), error: describe(e) });
            then?.(false);
            check();
          },
        );
      };
      if (plan.members.length === 0) return finish();
      if (!first) {
        for (const node of plan.members) send(node, request);
        return;
      }
      let othersSent = false;
      const sendOthers = (holderFenced: boolean): void => {
        if (othersSent || done) return;
        othersSent = true;
        cancelHolderWait();
        const message = holderFenced ? newTermRequest(this.key, election.term, options, true) : request;
        for (const node of plan.members) if (node !== first) send(node, message);
      };
      const cancelHolderWait = this.ctx.clock.schedule(this.ctx.settings.healthCheckTimeoutMs, () => sendOthers(false));
      send(first, request, sendOthers);
    });
  }

  private newTermWork(): AbortController {
    this.termWork?.abort();
    const work = new AbortController();
    this.closing.signal.addEventListener('abort', () => work.abort(), { once: true });
    this.termWork = work;
    return work;
  }

  /**
   * A member that missed the election (down, slow): fence it at the same term, then have the
   * leader add it with the head it answered, retrying until it works, a newer term exists
   * (InvalidTerm) or the term's work is cancelled.
   */
  private async reattachFollower(signal: AbortSignal, term: bigint, leader: NodeAddress, follower: NodeAddress): Promise<void> {
    await this.retry(signal, this.ctx.settings.followerRetry, `re-adding follower ${nodeId(follower)}`, async () => {
      const response = await this.ctx.client.newTerm(follower, newTermRequest(this.key, term, newTermOptions(this.ctx.namespaceConfig(this.key.namespace))), signal);
      const head = response.headEntryId ?? INVALID_ENTRY_ID;
      await this.ctx.client.addFollower(leader, addFollowerRequest(this.key, term, { node: follower, head }), signal);
      this.log.info('follower rejoined', { follower: nodeId(follower), term: term.toString() });
    });
  }

  /**
   * Waits until every follower has reached the leader's head at election time (then the shard
   * may change its ensemble again), then deletes the shard from nodes that left the ensemble.
   */
  private async awaitCatchUpThenCleanUp(signal: AbortSignal, term: bigint, leader: FencedMember, followers: readonly NodeAddress[]): Promise<void> {
    const meta = this.metadata();
    const members = meta ? meta.ensemble.filter((n) => nodeId(n) !== nodeId(leader.node)) : followers;
    await Promise.all(
      members.map((member) =>
        this.retry(signal, this.ctx.settings.electionRetry, `waiting for follower ${nodeId(member)} to catch up`, async () => {
          const status = await this.ctx.client.getStatus(member, { shard: this.key.shard }, signal);
          if (status.headOffset < leader.head.offset) {
            throw new OxiaError('ResourceUnavailable', `follower is at offset ${status.headOffset}, the leader was at ${leader.head.offset}`);
          }
        }, true),
      ),
    );
    if (signal.aborted) return;
    this.followersCaughtUp = true;
    this.log.debug('followers caught up');
    this.ctx.onReadyForEnsembleChange(this.key);
    await this.cleanUpRemovedNodes(signal, term);
  }

  /** Deletes the shard's copies on nodes that were moved out of the ensemble. */
  private async cleanUpRemovedNodes(signal: AbortSignal, term: bigint): Promise<void> {
    const meta = this.metadata();
    if (!meta || meta.pendingDeleteShardNodes.length === 0) return;
    await Promise.all(
      meta.pendingDeleteShardNodes.map((node) =>
        this.retry(signal, this.ctx.settings.followerRetry, `deleting the replica on removed node ${nodeId(node)}`, async () => {
          await this.ctx.client.deleteShard(node, { namespace: this.key.namespace, shard: this.key.shard, term }, signal);
          await this.ctx.keeper.update((s) => {
            const m = findShard(s, this.key);
            return m ? withShard(s, this.key, { ...m, pendingDeleteShardNodes: withoutNode(m.pendingDeleteShardNodes, node) }) : s;
          });
          this.log.info('deleted the replica of a removed node', { node: nodeId(node) });
        }),
      ),
    );
  }

  // ------------------------------------------------------------------ deletion

  private async deleteEverywhere(): Promise<void> {
    let meta = this.metadata();
    if (!meta) return;
    if (meta.status !== 'Deleting') {
      const deleting: ShardMetadata = { ...meta, status: 'Deleting' };
      await this.ctx.keeper.update((s) => withShard(s, this.key, deleting));
      meta = deleting;
      this.ctx.onShardChanged(this.key); // clients stop being routed to it
    }
    this.termWork?.abort();
    const term = meta.term;
    const holders = [...meta.ensemble, ...meta.removedNodes, ...meta.pendingDeleteShardNodes];
    this.log.info('deleting the shard', { nodes: holders.map(nodeId) });
    const ok = await Promise.all(
      holders.map((node) =>
        this.retry(this.closing.signal, this.ctx.settings.electionRetry, `deleting the shard on ${nodeId(node)}`, () =>
          this.ctx.client.deleteShard(node, { namespace: this.key.namespace, shard: this.key.shard, term }, this.closing.signal),
        ),
      ),
    );
    if (!ok.every(Boolean)) return;
    await this.ctx.keeper.update((s) => {
      const next = withoutShard(s, this.key);
      const ns = next.namespaces.get(this.key.namespace);
      if (ns && ns.shards.size === 0) {
        const namespaces = new Map(next.namespaces);
        namespaces.delete(this.key.namespace);
        return { ...next, namespaces };
      }
      return next;
    });
    this.log.info('deleted the shard');
    this.ctx.onShardDeleted(this.key);
  }

  // ------------------------------------------------------------------ helpers

  /**
   * Runs `action` until it succeeds (true), the signal aborts, or a node answers InvalidTerm
   * (a newer term exists: this work is obsolete), both false. Node comebacks cut pauses short.
   */
  private async retry(signal: AbortSignal, policy: BackoffPolicy, what: string, action: () => Promise<void>, quiet = false): Promise<boolean> {
    for (let attempt = 0; !signal.aborted && !this.ctx.keeper.lost; attempt++) {
      try {
        await action();
        return true;
      } catch (e) {
        if (signal.aborted || isFatal(e)) return false;
        if (isOxiaError(e, 'InvalidTerm')) {
          this.log.info(`stopped ${what}: a newer term exists`, { error: describe(e) });
          return false;
        }
        const delayMs = backoffDelayMs(policy, attempt, this.ctx.random());
        const fields = { error: describe(e), attempt, retryInMs: delayMs };
        if (quiet || attempt > 0) this.log.debug(`${what}: retrying`, fields);
        else this.log.warn(`${what} failed; retrying`, fields);
        await pause(this.ctx.clock, delayMs, signal, this.wakers);
      }
    }
    return false;
  }
}
