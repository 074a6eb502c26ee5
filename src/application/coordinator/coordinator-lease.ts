import type { ServiceIdentifier } from 'inversify';
import {
  conflicted,
  INITIAL_LEASE_STATE,
  leads,
  nextStep,
  observed,
  readFailed,
  releaseRecord,
  renewalStarted,
  tick,
  validUntil,
  writeFailed,
  written,
  type LeaseState,
  type LeaseTimings,
  type StoredLease,
} from '../../domain/coordinator/lease.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { Clock } from '../ports/clock.js';
import { isLeaseConflict, type LeaseStore } from '../ports/lease-store.js';
import type { Logger } from '../ports/logger.js';
import type { BoundGauge, CounterMetric, Metrics } from '../ports/metrics.js';
import { pause } from '../pause.js';

/** Writes of a release: the first, and once more for each renewal of this process still landing after stop(). */
const RELEASE_ATTEMPTS_MAX = 3;

/** Who this process is in the lease, and how the lease is paced. */
export interface LeaseSettings {
  /** Unique per process (a restarted process is somebody else): host name plus a random suffix. */
  readonly holder: string;
  readonly timings: LeaseTimings;
}
export const LeaseSettings: ServiceIdentifier<LeaseSettings> = Symbol.for('oxia.LeaseSettings');

/** Told when this process starts and stops holding the lease; `term` numbers its leaderships. */
export interface LeadershipListener {
  onAcquired(term: number): void;
  onLost(term: number, why: string): void;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs the lease of one coordinator process against its store: reads while another process
 * holds it, takes it when it is free or lapsed, renews it while holding it, and tells the
 * listener when leadership starts and ends. Every decision is domain/coordinator/lease.ts's;
 * this class does the I/O and keeps time with the Clock port.
 *
 * validFor(term) is the fence the process's actions go through: true only while this process
 * holds the lease of that leadership and its renew deadline has not passed, judged on the
 * monotonic clock at the moment of asking (not when a timer last fired), so that a process
 * resumed after a long pause refuses to act before any timer has run.
 */
export class CoordinatorLease {
  private state: LeaseState = INITIAL_LEASE_STATE;
  private term = 0;
  private leadingTerm: number | undefined;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private cancelDeadline: (() => void) | undefined;
  private lastHolderSeen: string | undefined = undefined;
  private readonly isLeader: BoundGauge;
  private readonly transitions: CounterMetric;
  private readonly log: Logger;

  constructor(
    private readonly store: LeaseStore,
    private readonly clock: Clock,
    log: Logger,
    metrics: Metrics,
    private readonly settings: LeaseSettings,
    private readonly listener: LeadershipListener,
  ) {
    this.log = log.child({ component: 'coordinator-lease' });
    this.isLeader = metrics.gauge('oxia_coordinator_is_leader', 'Whether this coordinator holds the coordinator lease and acts (1) or stands by (0)').bind({});
    this.transitions = metrics.counter('oxia_coordinator_leader_transitions_total', 'Changes of this coordinator between leading and standing by', ['to']);
    this.isLeader.set(0);
  }

  get holder(): string {
    return this.settings.holder;
  }

  start(): void {
    if (this.loop) throw new Error('bug: CoordinatorLease.start() called twice');
    this.log.info('campaigning for the coordinator lease', { holder: this.holder, lease: this.store.where, ...this.settings.timings });
    this.loop = this.run();
  }

  /** Whether this process may act for its leadership `term` now. */
  validFor(term: number): boolean {
    return this.leadingTerm === term && leads(this.state, this.clock.monotonicMs());
  }

  /** Stops campaigning and renewing; the lease, if held, runs until its deadline (see release()). */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  /**
   * Hands the lease back so that a standby takes over at its next read instead of waiting for
   * the lease to lapse. Only after stop() and after this process stopped acting.
   */
  async release(): Promise<void> {
    if (!this.stopping.signal.aborted) throw new Error('bug: CoordinatorLease.release() before stop()');
    const now = this.clock.monotonicMs();
    this.apply(tick(this.state, now), 'its renew deadline passed');
    const state = this.state;
    if (state.phase !== 'holding' || !leads(state, now)) return;
    try {
      await this.writeRelease(state.lease, state.validUntilMs);
      this.log.info('released the coordinator lease', { holder: this.holder });
    } catch (e) {
      this.log.warn('could not release the coordinator lease; it lapses on its own', { error: describe(e) });
    }
    this.apply(INITIAL_LEASE_STATE, 'released');
    this.cancelDeadline?.();
  }

  /**
   * Writes the release over `lease`. stop() gives up waiting for a renewal in flight, but the
   * store may still take it, after or before this write: a conflict then finds the lease still
   * held by this process under a newer version (its own renewal landed), which it releases
   * instead. A lease somebody else holds is left alone.
   */
  private async writeRelease(lease: StoredLease, validUntilMs: number): Promise<void> {
    let current = lease;
    for (let attempt = 1; ; attempt++) {
      const timeoutMs = Math.max(1, Math.floor(validUntilMs - this.clock.monotonicMs()));
      try {
        await this.bounded(this.store.write(releaseRecord(current, this.clock.nowMs()), current.version, timeoutMs), timeoutMs, 'releasing', undefined);
        return;
      } catch (e) {
        if (!isLeaseConflict(e) || attempt >= RELEASE_ATTEMPTS_MAX) throw e;
        const stored = await this.bounded(this.store.read(), timeoutMs, 'reading', undefined);
        if (stored === undefined || stored.record.holder !== this.holder) throw e;
        current = stored;
      }
    }
  }

  private async run(): Promise<void> {
    const { timings } = this.settings;
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let now = this.clock.monotonicMs();
      this.apply(tick(this.state, now), 'its renew deadline passed');
      const step = nextStep(this.state, now, this.holder, timings, this.clock.nowMs());
      switch (step.kind) {
        case 'sleep':
          await pause(this.clock, step.untilMs - now, signal);
          break;
        case 'read':
          try {
            const lease = await this.bounded(this.store.read(), timings.renewDeadlineMs, 'reading');
            now = this.clock.monotonicMs();
            this.noteHolder(lease);
            this.apply(observed(this.state, lease, now), '');
          } catch (e) {
            this.log.warn('could not read the coordinator lease; retrying', { lease: this.store.where, error: describe(e) });
            this.apply(readFailed(this.state, this.clock.monotonicMs()), '');
          }
          break;
        case 'acquire':
        case 'renew': {
          const startedMs = now;
          if (step.kind === 'renew') this.apply(renewalStarted(this.state, startedMs), '');
          const timeoutMs = step.kind === 'renew' ? step.timeoutMs : timings.renewDeadlineMs;
          try {
            const version = await this.bounded(this.store.write(step.record, step.expectedVersion, timeoutMs), timeoutMs, 'writing');
            this.apply(written(this.state, { record: step.record, version }, startedMs, this.clock.monotonicMs(), timings), 'its renewal was answered after its deadline');
          } catch (e) {
            if (isLeaseConflict(e)) {
              if (step.kind === 'renew') this.log.warn('another coordinator wrote the coordinator lease', { error: describe(e) });
              this.apply(conflicted(this.state), 'another coordinator wrote the lease');
            } else {
              this.log.warn(`could not ${step.kind} the coordinator lease; retrying`, { lease: this.store.where, error: describe(e) });
              this.apply(writeFailed(this.state, this.clock.monotonicMs(), timings), 'it could not be renewed before its deadline');
            }
          }
          break;
        }
      }
    }
  }

  /**
   * A store call that gives up after `timeoutMs` or when the loop stops: a store that hangs (a
   * hard-mounted network file system, a stalled API server) must neither stall the loop past
   * the deadlines nor keep stop() waiting. The call itself may still complete later.
   */
  private bounded<T>(call: Promise<T>, timeoutMs: number, what: string, signal: AbortSignal | undefined = this.stopping.signal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const giveUp = (why: string): void => {
        cancel();
        signal?.removeEventListener('abort', onAbort);
        reject(new OxiaError('ResourceUnavailable', `${what} ${this.store.where}: ${why}`));
      };
      const onAbort = (): void => giveUp('stopping');
      const cancel = this.clock.schedule(timeoutMs, () => giveUp(`no answer within ${timeoutMs} ms`));
      signal?.addEventListener('abort', onAbort, { once: true });
      call.then(
        (value) => {
          cancel();
          signal?.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (e: unknown) => {
          cancel();
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  /** Logs who holds the lease when that changes, as seen by a process that does not. */
  private noteHolder(lease: StoredLease | undefined): void {
    const holder = lease?.record.holder ?? '';
    if (holder === this.lastHolderSeen) return;
    this.lastHolderSeen = holder;
    if (holder === '') this.log.info('the coordinator lease is free', { lease: this.store.where });
    else this.log.info('standing by: another coordinator holds the lease', { holder: lease?.record.holder, transitions: lease?.record.transitions });
  }

  /** Moves to `next`, telling the listener when leadership starts or ends. */
  private apply(next: LeaseState, whyLost: string): void {
    const before = this.state;
    this.state = next;
    const wasLeading = this.leadingTerm !== undefined;
    const holding = next.phase === 'holding' || next.phase === 'renewing';
    if (!wasLeading && holding) {
      this.term++;
      this.leadingTerm = this.term;
      this.lastHolderSeen = this.holder;
      this.isLeader.set(1);
      this.transitions.inc({ to: 'leader' });
      const previous = before.phase === 'expired' ? before.seen?.lease?.record : undefined;
      this.log.info('acquired the coordinator lease: this coordinator acts', {
        holder: this.holder,
        previousHolder: previous?.holder || undefined,
        transitions: next.lease.record.transitions,
        validForMs: next.validUntilMs - this.clock.monotonicMs(),
      });
      this.watchDeadline(next.validUntilMs);
      this.listener.onAcquired(this.term);
    } else if (wasLeading && !holding) {
      const term = this.leadingTerm!;
      this.leadingTerm = undefined;
      this.cancelDeadline?.();
      this.isLeader.set(0);
      this.transitions.inc({ to: 'standby' });
      if (whyLost !== 'released') this.log.warn('lost the coordinator lease: this coordinator stops acting', { holder: this.holder, why: whyLost });
      this.listener.onLost(term, whyLost);
    } else if (holding && validUntil(before) !== next.validUntilMs) {
      this.watchDeadline(next.validUntilMs);
    }
  }

  /** Ends leadership at the deadline even while a renewal hangs (the run loop is then waiting on it). */
  private watchDeadline(validUntilMs: number): void {
    this.cancelDeadline?.();
    this.cancelDeadline = this.clock.schedule(Math.max(0, validUntilMs - this.clock.monotonicMs()), () => {
      // Timers may fire a fraction of a millisecond early by the monotonic clock.
      if (this.clock.monotonicMs() < validUntilMs) this.watchDeadline(validUntilMs);
      else this.apply(tick(this.state, this.clock.monotonicMs()), 'it could not be renewed before its deadline');
    });
  }
}
