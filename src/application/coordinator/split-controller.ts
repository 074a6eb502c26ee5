import type { ShardMetadata } from '../../domain/cluster/cluster-status.js';
import { nodeId } from '../../domain/cluster/node-address.js';
import { isStatusVersionConflict } from '../../domain/cluster/status-conflict.js';
import { backoffDelayMs } from '../../domain/coordinator/backoff.js';
import { abortSplit, commitSplit, recordFreeze, type RunningSplit } from '../../domain/coordinator/split.js';
import { findShard, shardLabel } from '../../domain/coordinator/status-edit.js';
import { isOxiaError, OxiaError } from '../../domain/errors/oxia-error.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { StorageNodeClient } from '../ports/storage-node-client.js';
import type { CoordinatorSettings } from './coordinator-settings.js';
import { pause } from '../pause.js';
import type { StatusKeeper } from './status-keeper.js';

/** How long one child replica may take to catch up with the parent (the first time, the whole shard is read). */
const COPY_TIMEOUT_MS = 10 * 60_000;
/** A live catch-up round this short means the children follow the parent closely: freeze it now. */
const LIVE_ROUND_SHORT_MS = 1_000;
/** Live rounds at most before the freeze (a parent written faster than its children apply never gets a short one). */
const LIVE_ROUNDS_MAX = 5;

export interface SplitControllerContext {
  readonly keeper: StatusKeeper;
  readonly client: StorageNodeClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly settings: CoordinatorSettings;
  readonly random: () => number;
  /** The split is committed (phase Cutover): elect the children, delete the parent, route clients to the children. */
  onCommitted(running: RunningSplit): void;
  /** The split was rolled back (its deadline passed): elect the parent anew, delete the children's copies. */
  onAborted(running: RunningSplit): void;
}

/** What one pass reached. */
type Outcome = 'committed' | 'gone';

type NodeAddress = ShardMetadata['ensemble'][number];

/**
 * Drives one split recorded in the status (ADR 0025) to its commit, from whatever phase a
 * (re)started coordinator finds: freeze the parent's leader at the parent's current term,
 * record the freeze (CatchUp), have the leader copy each child's part to a majority of each
 * child's replicas (the copies still running then are stopped with RemoveObserver: those
 * replicas get a snapshot from their leader once elected), then commit if the parent is still
 * at the term it was frozen at. A parent re-elected meanwhile (its leader failed) is frozen
 * again and copied again. Every step is idempotent, so a pass that fails anywhere is simply
 * run again, until the split's deadline (settings.splitTimeoutMs, counted from this
 * controller's start as in Oxia): then, unless it committed, the split is rolled back.
 */
export class SplitController {
  private readonly closing = new AbortController();
  /** Aborts when the split ran out of time (or the controller closes): the pass in flight stops. */
  private readonly expired = new AbortController();
  private readonly log: Logger;
  private running: Promise<void> | undefined;

  constructor(
    readonly split: RunningSplit,
    private readonly ctx: SplitControllerContext,
  ) {
    this.log = ctx.log.child({ split: shardLabel(split.parent), children: split.children.map((c) => c.shard.toString()) });
  }

  start(): void {
    this.running ??= this.run();
  }

  close(): Promise<void> {
    this.closing.abort();
    return this.running ?? Promise.resolve();
  }

  private async run(): Promise<void> {
    const startedMs = this.ctx.clock.monotonicMs();
    const cancelDeadline = this.ctx.clock.schedule(this.ctx.settings.splitTimeoutMs, () => this.expired.abort());
    const signal = AbortSignal.any([this.closing.signal, this.expired.signal]);
    try {
      for (let attempt = 0; !this.closing.signal.aborted && !this.ctx.keeper.lost; attempt++) {
        if (this.expired.signal.aborted) {
          await this.rollBack();
          return;
        }
        try {
          const outcome = await this.pass(signal);
          if (outcome === 'committed') {
            this.log.info('split committed: electing the children, deleting the parent', { ms: this.ctx.clock.monotonicMs() - startedMs });
            this.ctx.onCommitted(this.split);
          }
          return;
        } catch (e) {
          if (this.closing.signal.aborted || isStatusVersionConflict(e)) return;
          if (this.expired.signal.aborted) continue;
          const delayMs = backoffDelayMs(this.ctx.settings.electionRetry, attempt, this.ctx.random());
          this.log.warn('split step failed; retrying', { error: describe(e), attempt, retryInMs: delayMs });
          await pause(this.ctx.clock, delayMs, signal);
        }
      }
    } finally {
      cancelDeadline();
    }
  }

  private parent(): ShardMetadata | undefined {
    return findShard(this.ctx.keeper.current(), this.split.parent);
  }

  private async pass(signal: AbortSignal): Promise<Outcome> {
    const parent = this.parent();
    if (!parent?.split) return 'gone';
    if (parent.split.phase === 'Cutover') return 'committed';
    const leader = parent.leader;
    if (parent.status !== 'SteadyState' || !leader) {
      throw new OxiaError('ResourceUnavailable', `the parent has no leader (status ${parent.status}); waiting for its election`);
    }
    const term = parent.term;
    const { namespace, shard } = this.split.parent;

    if (parent.split.phase !== 'CatchUp' || parent.split.parentTermAtBootstrap !== term) {
      // The parent serves while its children catch up; each round waits for the entries applied
      // until it started, so the rounds get shorter, and the last one is what the freeze waits for.
      for (let round = 1; ; round++) {
        const startedMs = this.ctx.clock.monotonicMs();
        await this.catchUpAll(leader, term, signal);
        const ms = this.ctx.clock.monotonicMs() - startedMs;
        this.log.info('children caught up with the serving parent', { term: term.toString(), round, ms: Math.round(ms) });
        if (ms <= LIVE_ROUND_SHORT_MS || round >= LIVE_ROUNDS_MAX) break;
      }
    }

    const frozen = await this.ctx.client.freezeShard(leader, { namespace, shard, term, frozen: true }, signal);
    if (parent.split.phase !== 'CatchUp' || parent.split.parentTermAtBootstrap !== term || parent.split.snapshotOffset !== frozen.headOffset) {
      await this.ctx.keeper.update((s) => {
        const next = recordFreeze(s, this.split, term, frozen.headOffset);
        if (!next) throw new OxiaError('Aborted', `the parent moved past term ${term} while being frozen`);
        return next;
      });
    }
    this.log.info('parent frozen; children catching up with its last entries', { term: term.toString(), offset: frozen.headOffset.toString(), leader: nodeId(leader) });
    await this.catchUpAll(leader, term, signal);
    // A majority of each child holds the parent's final state: the feeds stop (the replicas
    // not caught up get the rest from their own leader once it is elected).
    const observers = this.split.children.flatMap((child) => (findShard(this.ctx.keeper.current(), child)?.ensemble ?? []).map((member) => ({ child: child.shard, member })));
    await this.removeObservers(leader, term, observers);
    if (signal.aborted) throw new OxiaError('Aborted', 'the split ran out of time before its commit');

    const committed = await this.ctx.keeper.update((s) => {
      const next = commitSplit(s, this.split, term);
      if (!next) throw new OxiaError('Aborted', `the parent is no longer frozen at term ${term}: copying again`);
      return next;
    });
    return findShard(committed, this.split.parent)?.split?.phase === 'Cutover' ? 'committed' : 'gone';
  }

  /** Waits until a majority of each child's replicas caught up with the parent (see copy()). */
  private async catchUpAll(leader: NodeAddress, term: bigint, signal: AbortSignal): Promise<void> {
    const copies = new AbortController();
    try {
      await Promise.all(this.split.children.map((child) => this.copy(child.shard, leader, term, AbortSignal.any([signal, copies.signal]))));
    } finally {
      copies.abort();
    }
  }

  /**
   * Copies the child's part to its replicas; resolves once a majority of them hold it, with the
   * replicas whose copy was still running; rejects as soon as a majority cannot be reached.
   */
  private copy(childShard: bigint, parentLeader: NodeAddress, term: bigint, signal: AbortSignal): Promise<{ child: bigint; member: NodeAddress }[]> {
    const key = { namespace: this.split.parent.namespace, shard: childShard };
    const child = findShard(this.ctx.keeper.current(), key);
    if (!child) return Promise.reject(new OxiaError('Aborted', `child shard ${childShard} is no longer in the status`));
    const members = child.ensemble;
    const needed = Math.floor(members.length / 2) + 1;
    return new Promise((resolve, reject) => {
      const settled = new Set<number>();
      const failures: string[] = [];
      let copied = 0;
      let stale = false;
      let done = false;
      members.forEach((member, i) => {
        this.ctx.client
          .addObserver(
            parentLeader,
            {
              namespace: key.namespace,
              shard: this.split.parent.shard,
              term,
              followerName: member.internal,
              followerHeadEntryId: { term: -1n, offset: -1n },
              observer: true,
              targetShard: childShard,
              splitHashRange: { minHashInclusive: child.int32HashRange.min, maxHashInclusive: child.int32HashRange.max },
            },
            COPY_TIMEOUT_MS,
            signal,
          )
          .then(
            () => {
              copied++;
            },
            (e: unknown) => {
              stale ||= isOxiaError(e, 'InvalidTerm');
              failures.push(`${nodeId(member)}: ${describe(e)}`);
            },
          )
          .finally(() => {
            settled.add(i);
            if (done) return;
            if (copied >= needed) {
              done = true;
              if (failures.length > 0) this.log.warn('some child replicas missed the copy (their leader sends them a snapshot)', { child: childShard.toString(), failures });
              resolve(members.flatMap((m, j) => (settled.has(j) ? [] : [{ child: childShard, member: m }])));
            } else if (failures.length > members.length - needed) {
              done = true;
              reject(new OxiaError(stale ? 'Aborted' : 'ResourceUnavailable', `child ${childShard} copied to ${copied} of ${members.length} replicas: ${failures.join('; ')}`));
            }
          });
      });
    });
  }

  /** RemoveObserver on the parent's leader for each copy given (best effort: a new term of the parent ends them too). */
  private async removeObservers(leader: NodeAddress, term: bigint, observers: readonly { child: bigint; member: NodeAddress }[]): Promise<void> {
    const { namespace, shard } = this.split.parent;
    await Promise.all(
      observers.map(async ({ child, member }) => {
        try {
          await this.ctx.client.removeObserver(leader, { namespace, shard, term, followerName: member.internal, targetShard: child }, this.closing.signal);
          this.log.info('stopped a copy no longer needed', { child: child.toString(), replica: nodeId(member) });
        } catch (e) {
          this.log.warn('could not remove an observer', { child: child.toString(), replica: nodeId(member), error: describe(e) });
        }
      }),
    );
  }

  /**
   * The deadline passed before the commit: stops the copies (RemoveObserver), then one status
   * write drops the split, puts the parent to a new election (which ends its freeze) and the
   * children to deletion. A commit that won the race is followed instead.
   */
  private async rollBack(): Promise<void> {
    const parent = this.parent();
    if (parent?.split?.phase === 'Cutover') {
      this.ctx.onCommitted(this.split);
      return;
    }
    this.log.warn('the split did not reach its commit in time: rolling it back', { timeoutMs: this.ctx.settings.splitTimeoutMs });
    if (parent?.leader) {
      const observers = this.split.children.flatMap((child) => (findShard(this.ctx.keeper.current(), child)?.ensemble ?? []).map((member) => ({ child: child.shard, member })));
      await this.removeObservers(parent.leader, parent.term, observers);
    }
    for (let attempt = 0; !this.closing.signal.aborted && !this.ctx.keeper.lost; attempt++) {
      try {
        let committed = false;
        await this.ctx.keeper.update((s) => {
          const next = abortSplit(s, this.split);
          committed = next === undefined && findShard(s, this.split.parent)?.split?.phase === 'Cutover';
          return next ?? s;
        });
        if (committed) {
          this.ctx.onCommitted(this.split);
        } else {
          this.log.info('split rolled back: the parent is elected anew, the children deleted');
          this.ctx.onAborted(this.split);
        }
        return;
      } catch (e) {
        if (isStatusVersionConflict(e)) return;
        const delayMs = backoffDelayMs(this.ctx.settings.electionRetry, attempt, this.ctx.random());
        this.log.warn('rolling the split back failed; retrying', { error: describe(e), retryInMs: delayMs });
        await pause(this.ctx.clock, delayMs, this.closing.signal);
      }
    }
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
