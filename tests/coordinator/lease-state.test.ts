// The coordinator lease's decisions (domain/coordinator/lease.ts), driven by explicit times:
// waiting, expired, holding, renewing; expiry judged on the observer's own clock; the holder's
// deadline counted from the start of its last successful write.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
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
  timingProblems,
  validUntil,
  writeFailed,
  written,
  type LeaseRecord,
  type LeaseState,
  type LeaseStep,
  type StoredLease,
} from '../../src/domain/coordinator/lease.js';

const T = { durationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
const ME = 'coordinator-a';
const OTHER = 'coordinator-b';
const WALL = 1_700_000_000_000;

function held(holder: string, version: string, durationMs = T.durationMs, transitions = 0): StoredLease {
  const record: LeaseRecord = { holder, durationMs, acquiredAtMs: WALL, renewedAtMs: WALL, transitions };
  return { record, version };
}

function step(state: LeaseState, now: number): LeaseStep {
  return nextStep(tick(state, now), now, ME, T, WALL + now);
}

/** Takes the lease at `now` (an acquisition that started then and succeeded at once). */
function acquire(now: number, previous?: StoredLease): LeaseState {
  const s = observed(INITIAL_LEASE_STATE, previous, now);
  const st = step(s, now);
  if (st.kind !== 'acquire') throw new Error(`expected an acquisition, got ${st.kind}`);
  return written(s, { record: st.record, version: 'v-mine' }, now, now, T);
}

test('timings: the holder must stop before anyone may take over, and renewals must fit in the deadline', () => {
  assert.equal(timingProblems(T), []);
  assert.ok(timingProblems({ ...T, renewDeadlineMs: 3_000 }).some((p) => p.includes('longer than the renew deadline')));
  assert.ok(timingProblems({ ...T, retryPeriodMs: 2_000 }).some((p) => p.includes('longer than the retry period')));
  assert.ok(timingProblems({ ...T, retryPeriodMs: 0 }).length > 0);
});

test('a process that read nothing reads first; a free lease is taken at once (create: no expected version)', () => {
  assert.equal(step(INITIAL_LEASE_STATE, 0), { kind: 'read' });
  const s = observed(INITIAL_LEASE_STATE, undefined, 10);
  assert.is(s.phase, 'expired');
  const st = step(s, 10);
  assert.is(st.kind, 'acquire');
  if (st.kind !== 'acquire') return;
  assert.is(st.expectedVersion, undefined);
  assert.equal(st.record, { holder: ME, durationMs: 3_000, acquiredAtMs: WALL + 10, renewedAtMs: WALL + 10, transitions: 0 });
});

test('a lease held by another lapses only after its duration on the observer\'s clock, counted from when that version was first seen', () => {
  let s = observed(INITIAL_LEASE_STATE, held(OTHER, '7'), 1_000);
  assert.is(s.phase, 'waiting');
  assert.not.ok(leads(s, 1_000));
  // The next read is one retry period later.
  assert.equal(step(s, 1_000), { kind: 'sleep', untilMs: 1_500 });
  assert.equal(step(s, 1_500), { kind: 'read' });
  // Renewed (a new version): the wait starts over.
  s = observed(s, held(OTHER, '8'), 1_500);
  s = observed(s, held(OTHER, '8'), 4_000);
  assert.is(s.phase, 'waiting', 'version 8 seen since 1500: lapses at 4500');
  // The read is due at the lapse itself, not a retry period after it.
  assert.equal(step(s, 4_100), { kind: 'sleep', untilMs: 4_500 });
  s = observed(s, held(OTHER, '8'), 4_500);
  assert.is(s.phase, 'expired');
  const st = step(s, 4_500);
  assert.is(st.kind, 'acquire');
  if (st.kind !== 'acquire') return;
  assert.is(st.expectedVersion, '8', 'compare-and-set against the version that lapsed');
  assert.is(st.record.transitions, 1, 'the lease changes hands');
});

test('the record\'s own duration decides when it lapses (another implementation may use 15 s)', () => {
  let s = observed(INITIAL_LEASE_STATE, held(OTHER, '1', 15_000), 0);
  s = observed(s, held(OTHER, '1', 15_000), 14_999);
  assert.is(s.phase, 'waiting');
  s = observed(s, held(OTHER, '1', 15_000), 15_000);
  assert.is(s.phase, 'expired');
});

test('a released lease (no holder) is taken at the next read', () => {
  let s = observed(INITIAL_LEASE_STATE, held(OTHER, '3'), 0);
  s = observed(s, { record: releaseRecord(held(OTHER, '3'), WALL), version: '4' }, 200);
  assert.is(s.phase, 'expired');
});

test('failed reads keep their pace; what was seen still lapses, but only a successful read can show it', () => {
  let s = observed(INITIAL_LEASE_STATE, held(OTHER, '5'), 0);
  s = readFailed(s, 2_900);
  assert.equal(step(s, 2_950), { kind: 'sleep', untilMs: 3_000 }, 'the read at the lapse is kept');
  assert.is(s.phase, 'waiting', 'a failed read concludes nothing, even at the lapse');
  s = readFailed(s, 3_000);
  assert.equal(step(s, 3_100), { kind: 'sleep', untilMs: 3_500 }, 'past the lapse, reads go on at the retry period');
  s = observed(s, held(OTHER, '5'), 3_500);
  assert.is(s.phase, 'expired', 'the same version, read after its lapse');
  assert.is(readFailed(INITIAL_LEASE_STATE, 0).phase, 'waiting', 'a failed first read concludes nothing');
  assert.equal(step(readFailed(INITIAL_LEASE_STATE, 0), 100), { kind: 'sleep', untilMs: 500 });
});

test('holding: renewals every retry period; valid until the deadline counted from the start of the last successful write', () => {
  let s = acquire(1_000);
  assert.is(s.phase, 'holding');
  assert.is(validUntil(s), 3_000);
  assert.ok(leads(s, 2_999));
  assert.not.ok(leads(s, 3_000));
  assert.equal(step(s, 1_200), { kind: 'sleep', untilMs: 1_500 });
  const r = step(s, 1_500);
  assert.is(r.kind, 'renew');
  if (r.kind !== 'renew') return;
  assert.is(r.expectedVersion, 'v-mine');
  assert.is(r.record.renewedAtMs, WALL + 1_500);
  assert.is(r.record.acquiredAtMs, WALL + 1_000, 'acquisition time kept');
  assert.is(r.timeoutMs, 1_500, 'bounded by what is left of the deadline');
  s = renewalStarted(s, 1_500);
  assert.is(s.phase, 'renewing');
  assert.ok(leads(s, 2_000), 'still valid while the renewal is on its way');
  // The answer takes a while: validity counts from the start of the write.
  s = written(s, { record: r.record, version: 'v2' }, 1_500, 1_900, T);
  assert.is(s.phase, 'holding');
  assert.is(validUntil(s), 3_500);
  assert.equal(step(s, 1_900), { kind: 'sleep', untilMs: 2_000 });
});

test('a holder that cannot renew stops at its deadline, and an answer after the deadline does not revive it', () => {
  let s = acquire(0);
  s = renewalStarted(s, 500);
  s = writeFailed(s, 600, T);
  assert.is(s.phase, 'holding', 'a failed renewal is retried');
  assert.equal(step(s, 700), { kind: 'sleep', untilMs: 1_100 });
  s = renewalStarted(s, 1_100);
  assert.ok(leads(s, 1_999));
  assert.is(tick(s, 2_000).phase, 'waiting', 'deadline passed: the lease is lost');
  assert.not.ok(leads(s, 2_000));
  // The renewal answered late: the process has stopped and stays stopped.
  assert.is(written(tick(s, 2_100), { record: s.phase === 'renewing' ? s.lease.record : ({} as LeaseRecord), version: 'late' }, 1_100, 2_100, T).phase, 'waiting');
  assert.is(written(s, { record: {} as LeaseRecord, version: 'late' }, 1_100, 2_100, T).phase, 'waiting', 'even before tick() noticed');
});

test('a renewal that finds another version means the lease was taken: stop at once', () => {
  let s = acquire(0);
  s = renewalStarted(s, 500);
  s = conflicted(s);
  assert.is(s.phase, 'waiting');
  assert.not.ok(leads(s, 501));
  assert.equal(step(s, 501), { kind: 'read' });
});

test('an acquisition that fails without an answer is not assumed: read again after the retry period', () => {
  let s = observed(INITIAL_LEASE_STATE, undefined, 0);
  s = writeFailed(s, 100, T);
  assert.is(s.phase, 'waiting');
  assert.not.ok(leads(s, 100));
  assert.equal(step(s, 200), { kind: 'sleep', untilMs: 600 });
  // The write did land: the store names this process. It waits for that record to lapse like any other.
  s = observed(s, held(ME, 'x'), 600);
  assert.is(s.phase, 'waiting');
  s = observed(s, held(ME, 'x'), 3_600);
  assert.is(s.phase, 'expired');
  const st = step(s, 3_600);
  assert.is(st.kind === 'acquire' && st.record.transitions, 0, 'not counted as a change of hands');
});

test('an acquisition that lost a race reads again at once', () => {
  let s = observed(INITIAL_LEASE_STATE, undefined, 0);
  s = conflicted(s);
  assert.equal(step(s, 0), { kind: 'read' });
  s = observed(s, held(OTHER, '1'), 1);
  assert.is(s.phase, 'waiting');
});

test('an acquisition answered after its own deadline does not make a leader', () => {
  const s = observed(INITIAL_LEASE_STATE, undefined, 0);
  const st = step(s, 0);
  if (st.kind !== 'acquire') throw new Error(st.kind);
  assert.is(written(s, { record: st.record, version: '1' }, 0, 2_000, T).phase, 'waiting');
  assert.is(written(s, { record: st.record, version: '1' }, 0, 1_999, T).phase, 'holding');
});

test.run();
