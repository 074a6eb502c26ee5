import { inject, injectable, optional } from 'inversify';
import { isStatusVersionConflict } from '../../domain/cluster/status-conflict.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { Clock } from '../ports/clock.js';
import { ClusterConfigSource } from '../ports/cluster-config-source.js';
import { ClusterStatusStore } from '../ports/cluster-status-store.js';
import { LeaseStore } from '../ports/lease-store.js';
import { Logger } from '../ports/logger.js';
import { Metrics } from '../ports/metrics.js';
import { NodeDiscovery } from '../ports/node-discovery.js';
import { StorageNodeClient } from '../ports/storage-node-client.js';
import type { ActiveCoordinator } from './active-coordinator.js';
import { ClusterJournal } from '../console/cluster-journal.js';
import { Coordinator } from './coordinator.js';
import { CoordinatorLease, LeaseSettings } from './coordinator-lease.js';
import { CoordinatorSettings } from './coordinator-settings.js';
import { FencedStatusStore, FencedStorageNodeClient, LeaseFence } from './lease-fence.js';

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface Leadership {
  readonly term: number;
  readonly coordinator: Coordinator;
  /** Set once the coordinator has claimed the status and reconciled it for the first time. */
  started: boolean;
}

/**
 * One coordinator process among several: it acts only while it holds the coordinator lease,
 * and otherwise stands by, hot (ADR 0023).
 *
 * - Standing by, it keeps the cluster config and the member list current and reads the lease,
 *   and sends nothing to any storage node.
 * - On taking the lease it starts a fresh Coordinator (claim of the status, then elections,
 *   monitors, assignments) whose every action goes through a fence bound to that leadership:
 *   nothing that changes a node or the status leaves the process once the lease's deadline has
 *   passed, even before any timer has noticed. Together with the claim (which makes every older
 *   coordinator's next status write fail) a deposed coordinator can write nothing.
 * - On losing the lease (not renewed in time, taken by another process) it stops that
 *   Coordinator and stands by again.
 * - A status written by someone while this process holds a valid lease, or a start that fails
 *   while it does (a status nobody can read), is not a standby's business: it stops acting,
 *   hands the lease back and `failure` resolves, so that the process exits non-zero.
 */
@injectable()
export class LeasedCoordinator implements ActiveCoordinator {
  private readonly lease: CoordinatorLease;
  private active: Leadership | undefined;
  private closing = false;
  private resolveFailure: (error: Error) => void = () => undefined;
  /** Resolves when this process must stop (see the class comment); never rejects. */
  readonly failure: Promise<Error>;
  private readonly log: Logger;

  constructor(
    @inject(ClusterStatusStore) private readonly store: ClusterStatusStore,
    @inject(LeaseStore) leaseStore: LeaseStore,
    @inject(ClusterConfigSource) private readonly configSource: ClusterConfigSource,
    @inject(NodeDiscovery) private readonly discovery: NodeDiscovery,
    @inject(StorageNodeClient) private readonly client: StorageNodeClient,
    @inject(Clock) private readonly clock: Clock,
    @inject(Logger) private readonly baseLog: Logger,
    @inject(Metrics) private readonly metrics: Metrics,
    @inject(CoordinatorSettings) private readonly settings: CoordinatorSettings,
    @inject(LeaseSettings) leaseSettings: LeaseSettings,
    @inject(ClusterJournal) @optional() private readonly journal: ClusterJournal = new ClusterJournal(),
  ) {
    this.log = baseLog.child({ component: 'leased-coordinator' });
    this.failure = new Promise<Error>((resolve) => (this.resolveFailure = resolve));
    this.lease = new CoordinatorLease(leaseStore, clock, baseLog, metrics, leaseSettings, {
      onAcquired: (term) => this.lead(term),
      onLost: (term, why) => void this.standDown(term, why),
    });
  }

  /** Starts the config source and the discovery (kept warm while standing by), then campaigns. */
  async start(): Promise<void> {
    await this.configSource.start();
    await this.discovery.start();
    this.lease.start();
  }

  /** Whether this process acts now. */
  get leading(): boolean {
    return this.active !== undefined && this.lease.validFor(this.active.term);
  }

  /** The coordinator of the current leadership, if any (tests, diagnostics). */
  get current(): Coordinator | undefined {
    return this.active?.coordinator;
  }

  get holder(): string {
    return this.lease.holder;
  }

  /** The coordinator that acts now; throws ResourceUnavailable while this process stands by. */
  acting(): Coordinator {
    const active = this.active;
    if (!active || !this.lease.validFor(active.term)) {
      throw new OxiaError('ResourceUnavailable', `this coordinator (${this.holder}) stands by: the coordinator holding the lease answers`);
    }
    if (!active.started) throw new OxiaError('ResourceUnavailable', `this coordinator (${this.holder}) is taking charge; try again shortly`);
    return active.coordinator;
  }

  /** Stops acting first, then hands the lease back, so that a standby takes over at once. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.lease.stop();
    await this.stopLeadership();
    await this.lease.release();
  }

  private lead(term: number): void {
    if (this.closing) return;
    const fence = new LeaseFence(() => this.lease.validFor(term), this.baseLog.child({ component: 'lease-fence', term }));
    const coordinator = new Coordinator(
      new FencedStatusStore(this.store, fence),
      this.configSource,
      this.discovery,
      new FencedStorageNodeClient(this.client, fence),
      this.clock,
      this.baseLog,
      this.metrics,
      this.settings,
      this.journal,
    );
    const leadership: Leadership = { term, coordinator, started: false };
    this.active = leadership;
    void coordinator.failure.then((e) => this.coordinatorFailed(term, e));
    coordinator.start().then(
      () => {
        leadership.started = true;
        this.log.info('this coordinator is in charge', { holder: this.holder });
      },
      (e: unknown) => this.coordinatorFailed(term, e instanceof Error ? e : new Error(String(e))),
    );
  }

  private async standDown(term: number, why: string): Promise<void> {
    if (this.active?.term !== term) return;
    if (why !== 'released') this.log.warn('standing by again', { why });
    await this.stopLeadership();
  }

  private async stopLeadership(): Promise<void> {
    const leadership = this.active;
    this.active = undefined;
    await leadership?.coordinator.close().catch((e: unknown) => this.log.warn('stopping the coordinator failed', { error: describe(e) }));
  }

  private coordinatorFailed(term: number, error: Error): void {
    if (this.active?.term !== term || this.closing) return;
    if (!this.lease.validFor(term)) {
      // Deposed meanwhile: the lease is someone else's; standing by is all there is to do.
      this.log.info('the coordinator stopped after losing the lease', { error: error.message });
      void this.stopLeadership();
      return;
    }
    this.log.error(
      isStatusVersionConflict(error)
        ? 'the cluster status was written by a coordinator outside the lease: stopping'
        : 'the coordinator could not take charge: stopping',
      { error: error.message },
    );
    this.resolveFailure(error);
  }
}
