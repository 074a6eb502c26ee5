import type { ShardMetadata } from '../../domain/cluster/cluster-status.js';
import { nodeId } from '../../domain/cluster/node-address.js';
import { isStatusVersionConflict } from '../../domain/cluster/status-conflict.js';
import { backoffDelayMs } from '../../domain/coordinator/backoff.js';
import { commitSplit, recordFreeze, type RunningSplit } from '../../domain/coordinator/split.js';
import { findShard, shardLabel } from '../../domain/coordinator/status-edit.js';
import { isOxiaError, OxiaError } from '../../domain/errors/oxia-error.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { StorageNodeClient } from '../ports/storage-node-client.js';
import type { CoordinatorSettings } from './coordinator-settings.js';
import { pause } from './pause.js';
import type { StatusKeeper } from './status-keeper.js';

/** How long one child replica may take to receive its part of the parent (the whole shard is read). */
const COPY_TIMEOUT_MS = 10 * 60_000;

export interface SplitControllerContext {
  readonly keeper: StatusKeeper;
  readonly client: StorageNodeClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly settings: CoordinatorSettings;
  readonly random: () => number;
  /** The split is committed (phase Cutover): elect the children, delete the parent, route clients to the children. */
  onCommitted(running: RunningSplit): void;
}

/** What one pass reached. */
type Outcome = 'committed' | 'gone';

/**
 * Drives one split recorded in the status (ADR 0025) to its commit, from whatever phase a
 * (re)started coordinator finds: freeze the parent's leader at the parent's current term,
 * record the freeze (CatchUp), have the leader copy each child's part to a majority of each
 * child's replicas, then commit if the parent is still at the term it was frozen at. A parent
 * re-elected meanwhile (its leader failed) is frozen again and copied again. Every step is
 * idempotent, so a pass that fails anywhere is simply run again.
 */
export class SplitController {
  private readonly closing = new AbortController();
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
    for (let attempt = 0; !this.closing.signal.aborted && !this.ctx.keeper.lost; attempt++) {
      try {
        const outcome = await this.pass();
        if (outcome === 'committed') {
          this.log.info('split committed: electing the children, deleting the parent', { ms: this.ctx.clock.monotonicMs() - startedMs });
          this.ctx.onCommitted(this.split);
        }
        return;
      } catch (e) {
        if (this.closing.signal.aborted || isStatusVersionConflict(e)) return;
        const delayMs = backoffDelayMs(this.ctx.settings.electionRetry, attempt, this.ctx.random());
        this.log.warn('split step failed; retrying', { error: e instanceof Error ? e.message : String(e), attempt, retryInMs: delayMs });
        await pause(this.ctx.clock, delayMs, this.closing.signal);
      }
    }
  }

  private parent(): ShardMetadata | undefined {
    return findShard(this.ctx.keeper.current(), this.split.parent);
  }

  private async pass(): Promise<Outcome> {
    const parent = this.parent();
    if (!parent?.split) return 'gone';
    if (parent.split.phase === 'Cutover') return 'committed';
    const leader = parent.leader;
    if (parent.status !== 'SteadyState' || !leader) {
      throw new OxiaError('ResourceUnavailable', `the parent has no leader (status ${parent.status}); waiting for its election`);
    }
    const term = parent.term;
    const { namespace, shard } = this.split.parent;
    const signal = this.closing.signal;

    const frozen = await this.ctx.client.freezeShard(leader, { namespace, shard, term, frozen: true }, signal);
    if (parent.split.phase !== 'CatchUp' || parent.split.parentTermAtBootstrap !== term || parent.split.snapshotOffset !== frozen.headOffset) {
      await this.ctx.keeper.update((s) => {
        const next = recordFreeze(s, this.split, term, frozen.headOffset);
        if (!next) throw new OxiaError('Aborted', `the parent moved past term ${term} while being frozen`);
        return next;
      });
    }
    this.log.info('parent frozen; copying the children', { term: term.toString(), offset: frozen.headOffset.toString(), leader: nodeId(leader) });

    await Promise.all(this.split.children.map((child) => this.copy(child.shard, leader, term)));

    const committed = await this.ctx.keeper.update((s) => {
      const next = commitSplit(s, this.split, term);
      if (!next) throw new OxiaError('Aborted', `the parent is no longer frozen at term ${term}: copying again`);
      return next;
    });
    return findShard(committed, this.split.parent)?.split?.phase === 'Cutover' ? 'committed' : 'gone';
  }

  /** Copies the child's part to its replicas; resolves once a majority of them hold it. */
  private async copy(childShard: bigint, parentLeader: ShardMetadata['ensemble'][number], term: bigint): Promise<void> {
    const key = { namespace: this.split.parent.namespace, shard: childShard };
    const child = findShard(this.ctx.keeper.current(), key);
    if (!child) throw new OxiaError('Aborted', `child shard ${childShard} is no longer in the status`);
    const needed = Math.floor(child.ensemble.length / 2) + 1;
    const results = await Promise.allSettled(
      child.ensemble.map((member) =>
        this.ctx.client.addObserver(
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
          this.closing.signal,
        ),
      ),
    );
    const copied = results.filter((r) => r.status === 'fulfilled').length;
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${nodeId(child.ensemble[i]!)}: ${describe(r.reason)}`] : []));
    if (copied < needed) {
      const stale = results.some((r) => r.status === 'rejected' && isOxiaError(r.reason, 'InvalidTerm'));
      throw new OxiaError(stale ? 'Aborted' : 'ResourceUnavailable', `child ${childShard} copied to ${copied} of ${child.ensemble.length} replicas: ${failures.join('; ')}`);
    }
    if (failures.length > 0) this.log.warn('some child replicas missed the copy (their leader sends them a snapshot)', { child: childShard.toString(), failures });
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
