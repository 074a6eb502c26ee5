// CoordinatorLease (the lease loop of one coordinator process) in this process, several of them
// on one real file lease with the system clock and short timings: one leads, the others wait;
// a holder that stops renewing has stopped acting before anyone takes over; a release hands
// the lease over without waiting for it to lapse, also when a renewal the holder gave up on
// lands first; a store that fails or hangs ends leadership
// at the deadline.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SystemClock } from '../../src/adapters/clock/system-clock.js';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';
import { FileLeaseStore } from '../../src/adapters/status-file/file-lease-store.js';
import { CoordinatorLease } from '../../src/application/coordinator/coordinator-lease.js';
import type { LeaseStore } from '../../src/application/ports/lease-store.js';
import type { LeaseRecord, LeaseTimings, StoredLease } from '../../src/domain/coordinator/lease.js';
import { OxiaError } from '../../src/domain/errors/oxia-error.js';
import { RecordingLogger } from '../cluster/support/test-logger.js';
import { waitFor } from '../support/wait.js';

const FAST: LeaseTimings = { durationMs: 600, renewDeadlineMs: 400, retryPeriodMs: 100 };

/**
 * The real file store, with a switch that makes its writes fail or hang (a store gone away),
 * and a gate that holds writes back and lets them land later (a slow store).
 */
class SwitchableStore implements LeaseStore {
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  private gate: { readonly opened: Promise<void>; readonly open: () => void } | undefined;
  readonly heldWrites: Promise<string>[] = [];
  constructor(private readonly inner: LeaseStore) {}

  /** Writes from now on wait until letThrough(). */
  hold(): void {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    this.gate = { opened, open };
  }

  /** The held writes go to the store; resolves once they all have an answer. */
  async letThrough(): Promise<void> {
    const gate = this.gate;
    this.gate = undefined;
    gate?.open();
    await Promise.allSettled(this.heldWrites);
  }
  get where(): string {
    return this.inner.where;
  }
  read(): Promise<StoredLease | undefined> {
    return this.inner.read();
  }
  write(record: LeaseRecord, expectedVersion: string | undefined, timeoutMs: number): Promise<string> {
    if (this.mode === 'fail') return Promise.reject(new OxiaError('ResourceUnavailable', 'switched off'));
    if (this.mode === 'hang') return new Promise(() => undefined);
    if (this.gate !== undefined) {
      const held = this.gate.opened.then(() => this.inner.write(record, expectedVersion, timeoutMs));
      this.heldWrites.push(held);
      return held;
    }
    return this.inner.write(record, expectedVersion, timeoutMs);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

class Contender {
  readonly log = new RecordingLogger();
  readonly metrics = new PromMetrics();
  readonly store: SwitchableStore;
  readonly lease: CoordinatorLease;
  term: number | undefined;
  readonly events: string[] = [];
  /** Checks run the moment this contender acquires (the safety property is about that moment). */
  onAcquire: (() => void) | undefined;

  constructor(
    dir: string,
    readonly name: string,
    timings: LeaseTimings = FAST,
  ) {
    this.store = new SwitchableStore(new FileLeaseStore({ dir }, this.log));
    this.lease = new CoordinatorLease(this.store, new SystemClock({ unrefTimers: false }), this.log, this.metrics, { holder: name, timings }, {
      onAcquired: (term) => {
        this.term = term;
        this.events.push('acquired');
        this.onAcquire?.();
      },
      onLost: (term, why) => {
        if (this.term === term) this.term = undefined;
        this.events.push(`lost: ${why}`);
      },
    });
  }

  get leading(): boolean {
    return this.term !== undefined && this.lease.validFor(this.term);
  }

  async isLeaderMetric(): Promise<number> {
    const text = await this.metrics.registry.metrics();
    return Number(/^oxia_coordinator_is_leader (\d)/m.exec(text)?.[1]);
  }
}

let dir: string;
const running: Contender[] = [];

function contender(name: string, timings?: LeaseTimings): Contender {
  const c = new Contender(dir, name, timings);
  running.push(c);
  c.lease.start();
  return c;
}

test.before.each(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'oxia-lease-loop-')), 'lease');
});
test.after.each(async () => {
  // As a process stopping does: no more renewals, then the lease handed back (which also ends its deadline timer).
  for (const c of running.splice(0)) {
    c.store.mode = 'ok';
    await c.lease.stop();
    await c.lease.release();
  }
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

test('of three contenders one leads; when it stops renewing it has stopped acting before another takes over', async () => {
  const all = [contender('a'), contender('b'), contender('c')];
  await waitFor(() => all.some((c) => c.leading), 'a leader');
  const leader = all.find((c) => c.leading)!;
  const leaderTerm = leader.term!;
  assert.is(all.filter((c) => c.term !== undefined).length, 1, 'exactly one leads');
  assert.is(await leader.isLeaderMetric(), 1);
  for (const c of all.filter((x) => x !== leader)) assert.is(await c.isLeaderMetric(), 0);

  // The safety property, checked at the very moment someone else acquires.
  const violations: string[] = [];
  for (const c of all.filter((x) => x !== leader)) {
    c.onAcquire = () => {
      if (leader.lease.validFor(leaderTerm)) violations.push(`${c.name} acquired while ${leader.name} could still act`);
    };
  }
  await leader.lease.stop(); // a holder that no longer renews (no release)
  await waitFor(() => all.some((c) => c !== leader && c.leading), 'a new leader', 10_000);
  assert.equal(violations, []);
  assert.not.ok(leader.lease.validFor(leaderTerm));
  assert.is(all.filter((c) => c.leading).length, 1);
  const stored = (await leader.store.read())!;
  assert.is(stored.record.transitions, 1, 'the lease changed hands once');
});

/** A leads and b stands by, on a lease that would take 60 s to lapse: a takeover sooner is a handover. */
async function holderAndStandbyOfSlowLease(): Promise<{ a: Contender; b: Contender }> {
  const slow: LeaseTimings = { durationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 100 };
  const a = contender('a', slow);
  await waitFor(() => a.leading, 'a leads');
  const b = contender('b', slow);
  await waitFor(() => b.log.messages().includes('standing by: another coordinator holds the lease'), 'b stands by');
  return { a, b };
}

test('a release hands the lease over at once, without waiting for it to lapse', async () => {
  const { a, b } = await holderAndStandbyOfSlowLease();
  await a.lease.stop();
  await a.lease.release();
  assert.not.ok(a.leading);
  assert.ok(a.events.includes('lost: released'));
  // Far sooner than the 60 s the lease would take to lapse.
  await waitFor(() => b.leading, 'b took over', 10_000);
});

test('a renewal still in flight when the holder stops, landing before its release, does not keep the lease from being handed over', async () => {
  const { a, b } = await holderAndStandbyOfSlowLease();
  a.store.hold();
  await waitFor(() => a.store.heldWrites.length > 0, "a renewal of a's in flight");
  await a.lease.stop(); // gives up waiting for the renewal...
  await a.store.letThrough(); // ...which the store still takes, under a newer version
  await a.lease.release();
  assert.ok(a.log.messages().includes('released the coordinator lease'), 'released, not left to lapse');
  await waitFor(() => b.leading, 'b took over', 10_000);
});

test('a store that fails or hangs ends leadership at the renew deadline; the others take over after the lease lapses', async () => {
  for (const mode of ['fail', 'hang'] as const) {
    for (const c of running.splice(0)) {
      c.store.mode = 'ok';
      await c.lease.stop();
      await c.lease.release();
    }
    const a = contender(`a-${mode}`);
    await waitFor(() => a.leading, 'a leads');
    const b = contender(`b-${mode}`);
    const term = a.term!;
    b.onAcquire = () => assert.not.ok(a.lease.validFor(term), 'a stopped acting first');
    a.store.mode = mode;
    await waitFor(() => a.term === undefined, `a noticed it lost the lease (${mode})`, 10_000);
    assert.ok(a.events.some((e) => e.startsWith('lost: ')), a.events.join(', '));
    await waitFor(() => b.leading, 'b took over', 10_000);
    assert.is(await a.isLeaderMetric(), 0);
  }
});

test('a holder that lost the lease campaigns again, and leads again once the lease is free', async () => {
  const a = contender('a');
  await waitFor(() => a.leading, 'a leads');
  a.store.mode = 'fail';
  await waitFor(() => a.term === undefined, 'a lost it');
  a.store.mode = 'ok';
  // Nobody else: its own lapsed record is taken over by itself, as a new leadership.
  await waitFor(() => a.leading, 'a leads again', 10_000);
  assert.equal(a.events.slice(0, 3).map((e) => e.split(':')[0]), ['acquired', 'lost', 'acquired']);
});

test.run();
