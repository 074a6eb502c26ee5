/*
 * The coordinator lease, as pure data and decisions: which of several coordinator processes
 * acts. The record is stored with compare-and-set (a Kubernetes Lease, or the file lease); this
 * module decides what one process does with it, given the time of its own monotonic clock.
 *
 * Phases of one process:
 *   waiting   another process holds the lease, and this one has not seen it lapse yet;
 *   expired   the lease is free (never taken, released) or has lapsed: this process may take it;
 *   holding   this process holds it and may act until `validUntilMs`;
 *   renewing  the same, with a renewal on its way to the store.
 *
 * Expiry is judged the way Kubernetes' leader election judges it, without comparing clocks
 * of different machines: a record lapses when the observer has seen the SAME version of it
 * for the record's duration, measured on the observer's monotonic clock from the moment the
 * observer first saw that version. The holder, in turn, stops acting `renewDeadlineMs` after
 * the START of its last successful write. A write lands after it starts and is seen after it
 * lands, so with renewDeadline < duration the holder has stopped before any observer can
 * consider the lease lapsed; the difference is the margin for clocks running at slightly
 * different rates and for the gap between the holder's check and its last message leaving.
 */

/** The stored lease (Kubernetes LeaseSpec's fields, in milliseconds). */
export interface LeaseRecord {
  /** Who holds it; '' once released. */
  readonly holder: string;
  /** How long an observer must see this version unchanged before the lease counts as lapsed. */
  readonly durationMs: number;
  /** Wall clock of the holder when it took the lease and when it last renewed it. For people only: never used to judge expiry. */
  readonly acquiredAtMs: number;
  readonly renewedAtMs: number;
  /** How many times the lease changed hands. */
  readonly transitions: number;
}

export interface StoredLease {
  readonly record: LeaseRecord;
  /** Changes on every write; what compare-and-set compares. */
  readonly version: string;
}

export interface LeaseTimings {
  /** Written into the record: how long others wait after the last renewal they saw. */
  readonly durationMs: number;
  /** How long after the start of its last successful renewal the holder may still act. */
  readonly renewDeadlineMs: number;
  /** Between renewals of the holder, and between reads of a process waiting for the lease. */
  readonly retryPeriodMs: number;
}

/** One version of the stored lease (or its absence) as this process saw it. */
export interface Sighting {
  readonly lease: StoredLease | undefined;
  /** Monotonic time at which this process first saw this version. */
  readonly sinceMs: number;
}

export type LeaseState =
  /** `lastReadMs`: the last read attempt, successful or not (undefined: none yet). */
  | { readonly phase: 'waiting'; readonly seen: Sighting | undefined; readonly lastReadMs: number | undefined }
  | { readonly phase: 'expired'; readonly seen: Sighting | undefined }
  | { readonly phase: 'holding'; readonly lease: StoredLease; readonly validUntilMs: number; readonly nextRenewMs: number }
  | { readonly phase: 'renewing'; readonly lease: StoredLease; readonly validUntilMs: number; readonly startedMs: number };

/** A process that has read nothing yet. */
export const INITIAL_LEASE_STATE: LeaseState = Object.freeze({ phase: 'waiting', seen: undefined, lastReadMs: undefined });

const LOST: LeaseState = INITIAL_LEASE_STATE;

/** What the process should do now. */
export type LeaseStep =
  | { readonly kind: 'read' }
  | { readonly kind: 'acquire'; readonly record: LeaseRecord; readonly expectedVersion: string | undefined }
  | { readonly kind: 'renew'; readonly record: LeaseRecord; readonly expectedVersion: string; readonly timeoutMs: number }
  | { readonly kind: 'sleep'; readonly untilMs: number };

export function timingProblems(t: LeaseTimings): string[] {
  const problems: string[] = [];
  if (!(t.retryPeriodMs > 0)) problems.push('the retry period must be positive');
  if (!(t.renewDeadlineMs > t.retryPeriodMs)) problems.push('the renew deadline must be longer than the retry period (several renewals must fit in it)');
  if (!(t.durationMs > t.renewDeadlineMs)) problems.push('the lease duration must be longer than the renew deadline (the holder must stop before others may take over)');
  return problems;
}

/** Whether this process may act at `nowMs`: it holds the lease and its renew deadline has not passed. */
export function leads(state: LeaseState, nowMs: number): boolean {
  return (state.phase === 'holding' || state.phase === 'renewing') && nowMs < state.validUntilMs;
}

/** When the process must stop acting unless a renewal succeeds first (undefined: it does not hold the lease). */
export function validUntil(state: LeaseState): number | undefined {
  return state.phase === 'holding' || state.phase === 'renewing' ? state.validUntilMs : undefined;
}

/** Free: never taken, or released by its holder. */
function isFree(lease: StoredLease | undefined): boolean {
  return lease === undefined || lease.record.holder === '';
}

/** When the sighted version lapses for this observer (undefined: it is free already). */
export function lapsesAt(seen: Sighting): number | undefined {
  if (isFree(seen.lease)) return undefined;
  return seen.sinceMs + seen.lease!.record.durationMs;
}

/** Time passing: a holder whose deadline has passed loses the lease and must stop acting. */
export function tick(state: LeaseState, nowMs: number): LeaseState {
  if ((state.phase === 'holding' || state.phase === 'renewing') && nowMs >= state.validUntilMs) return LOST;
  return state;
}

/**
 * A successful read by a process that does not hold the lease. Only a read can show a lease
 * expired: a process never takes over on the strength of an old read alone.
 */
export function observed(state: LeaseState, lease: StoredLease | undefined, nowMs: number): LeaseState {
  if (state.phase === 'holding' || state.phase === 'renewing') return state;
  const previous = state.seen;
  // A version seen for the first time starts a new wait, even where the previous one had lapsed.
  const seen: Sighting = previous !== undefined && previous.lease?.version === lease?.version ? previous : { lease, sinceMs: nowMs };
  const lapse = lapsesAt(seen);
  if (lapse === undefined || nowMs >= lapse) return { phase: 'expired', seen };
  return { phase: 'waiting', seen, lastReadMs: nowMs };
}

/** What to do at `nowMs` (after tick(): the state must be current). */
export function nextStep(state: LeaseState, nowMs: number, holder: string, timings: LeaseTimings, wallNowMs: number): LeaseStep {
  switch (state.phase) {
    case 'waiting': {
      if (state.lastReadMs === undefined) return { kind: 'read' };
      let due = state.lastReadMs + timings.retryPeriodMs;
      // Read again right when the version seen would lapse, so that a takeover is not delayed
      // by up to a retry period (unless that moment is past: then reads keep their pace).
      const lapse = state.seen && lapsesAt(state.seen);
      if (lapse !== undefined && lapse > state.lastReadMs) due = Math.min(due, lapse);
      return nowMs >= due ? { kind: 'read' } : { kind: 'sleep', untilMs: due };
    }
    case 'expired':
      return { kind: 'acquire', record: acquisitionRecord(state.seen?.lease, holder, timings, wallNowMs), expectedVersion: state.seen?.lease?.version };
    case 'holding':
      if (nowMs < state.nextRenewMs) return { kind: 'sleep', untilMs: Math.min(state.nextRenewMs, state.validUntilMs) };
      return {
        kind: 'renew',
        record: { ...state.lease.record, durationMs: timings.durationMs, renewedAtMs: wallNowMs },
        expectedVersion: state.lease.version,
        // Past the deadline the answer no longer matters.
        timeoutMs: Math.max(1, Math.floor(state.validUntilMs - nowMs)),
      };
    case 'renewing':
      return { kind: 'sleep', untilMs: state.validUntilMs };
  }
}

/** The record that takes the lease over from `previous` (absent, released or lapsed). */
export function acquisitionRecord(previous: StoredLease | undefined, holder: string, timings: LeaseTimings, wallNowMs: number): LeaseRecord {
  const before = previous?.record;
  const changesHands = before === undefined || before.holder !== holder;
  return {
    holder,
    durationMs: timings.durationMs,
    acquiredAtMs: wallNowMs,
    renewedAtMs: wallNowMs,
    transitions: before === undefined ? 0 : before.transitions + (changesHands ? 1 : 0),
  };
}

/** A renewal was sent at `startedMs`. */
export function renewalStarted(state: LeaseState, startedMs: number): LeaseState {
  if (state.phase !== 'holding') return state;
  return { phase: 'renewing', lease: state.lease, validUntilMs: state.validUntilMs, startedMs };
}

/**
 * Our write (an acquisition from `expired`, a renewal from `renewing`) that started at
 * `startedMs` succeeded. The lease is valid until `startedMs + renewDeadline`: the write
 * landed after it started, so every observer's wait started later still. An answer that comes
 * after the deadline it raced (the process already stopped acting) is ignored: once a holder
 * has stopped, it stays stopped and waits for the lease like anyone else.
 */
export function written(state: LeaseState, lease: StoredLease, startedMs: number, nowMs: number, timings: LeaseTimings): LeaseState {
  if (state.phase !== 'expired' && state.phase !== 'renewing') return state;
  if (state.phase === 'renewing' && nowMs >= state.validUntilMs) return LOST;
  const validUntilMs = startedMs + timings.renewDeadlineMs;
  if (nowMs >= validUntilMs) return LOST;
  return { phase: 'holding', lease, validUntilMs, nextRenewMs: startedMs + timings.retryPeriodMs };
}

/**
 * Our write found another version stored. An acquisition lost a race; a renewal means that
 * somebody else wrote the lease. Either way this process does not hold it and reads again.
 */
export function conflicted(_state: LeaseState): LeaseState {
  return LOST;
}

/**
 * Our write failed without saying whether it happened (store unreachable, timeout). A renewal
 * is tried again after the retry period, as long as the deadline allows. An acquisition is not
 * assumed to have happened: the process reads again after the retry period and, should the
 * store name it the holder, still waits for that record to lapse (the deadline would count
 * from the write's start, which is unknown).
 */
export function writeFailed(state: LeaseState, nowMs: number, timings: LeaseTimings): LeaseState {
  if (state.phase === 'renewing') {
    if (nowMs >= state.validUntilMs) return LOST;
    return { phase: 'holding', lease: state.lease, validUntilMs: state.validUntilMs, nextRenewMs: nowMs + timings.retryPeriodMs };
  }
  if (state.phase === 'expired') return { phase: 'waiting', seen: state.seen, lastReadMs: nowMs };
  return state;
}

/** A read failed: read again after the retry period. What was seen before still counts. */
export function readFailed(state: LeaseState, nowMs: number): LeaseState {
  if (state.phase !== 'waiting' && state.phase !== 'expired') return state;
  return { phase: 'waiting', seen: state.seen, lastReadMs: nowMs };
}

/** The record that hands the lease back, so that a waiting process takes over at its next read. */
export function releaseRecord(lease: StoredLease, wallNowMs: number): LeaseRecord {
  return { ...lease.record, holder: '', durationMs: 1_000, renewedAtMs: wallNowMs };
}
