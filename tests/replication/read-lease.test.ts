// A leader's read lease (application/shard/read-lease.ts) on a virtual clock: it holds from a
// quorum's echoes for the lease period, reads wait a little for a renewal, and a leader
// nobody answers any more refuses reads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReadLease } from '../../src/application/shard/read-lease.js';
import { OxiaError } from '../../src/domain/errors/oxia-error.js';
import type { ReadLeaseTiming } from '../../src/domain/replication/read-lease.js';
import { settle, VirtualClock } from '../support/virtual-clock.js';

const timing: ReadLeaseTiming = { leaseMs: 700, probeIntervalMs: 100, clockDriftBound: 0.01 };
const never = new AbortController().signal;

function outcome(p: Promise<void>): { state: 'pending' | 'held' | string } {
  const o: { state: string } = { state: 'pending' };
  p.then(
    () => (o.state = 'held'),
    (e: unknown) => (o.state = e instanceof OxiaError ? e.kind : String(e)),
  );
  return o;
}

test('replication factor 1: the lease always holds', async () => {
  const clock = new VirtualClock();
  const lease = new ReadLease(1, timing, clock);
  assert.ok(lease.holds());
  await clock.advance(1_000_000);
  assert.ok(lease.holds());
});

test('three replicas: held from one follower echo until the lease period after the probe was sent', async () => {
  const clock = new VirtualClock();
  const lease = new ReadLease(3, timing, clock);
  assert.not.ok(lease.holds(), 'no echo yet');
  await clock.advance(50);
  lease.onEcho('b', 40); // the probe went out at 40
  assert.ok(lease.holds());
  await clock.advance(689);
  assert.ok(lease.holds(), 'at 739');
  await clock.advance(1);
  assert.not.ok(lease.holds(), 'at 740 = 40 + 700');
  lease.onEcho('c', 500);
  assert.ok(lease.holds(), 'the other follower renews it');
  lease.onEcho('c', 300);
  await clock.advance(459);
  assert.ok(lease.holds(), 'an older echo does not shorten it (at 1199)');
  lease.onEcho('b', 5_000);
  assert.ok(lease.holds(), 'an echo of a time that has not come is ignored');
  await clock.advance(1);
  assert.not.ok(lease.holds(), 'at 1200 = 500 + 700');
});

test('a read waits for a renewal; without one it is refused with NodeIsNotLeader', async () => {
  const clock = new VirtualClock();
  const lease = new ReadLease(3, timing, clock);
  const renewed = outcome(lease.awaitHeld(700, never, 1n));
  await clock.advance(100);
  assert.is(renewed.state, 'pending');
  lease.onEcho('b', 90);
  await settle();
  assert.is(renewed.state, 'held');

  await clock.advance(1_000);
  const refused = outcome(lease.awaitHeld(700, never, 1n));
  await clock.advance(699);
  assert.is(refused.state, 'pending');
  await clock.advance(1);
  assert.is(refused.state, 'NodeIsNotLeader');
});

test('a leader that stops fails waiting reads with its reason, and never holds again', async () => {
  const clock = new VirtualClock();
  const lease = new ReadLease(3, timing, clock);
  const waiting = outcome(lease.awaitHeld(700, never, 1n));
  lease.end(new OxiaError('NodeIsNotLeader', 'fenced at term 4'));
  await settle();
  assert.is(waiting.state, 'NodeIsNotLeader');
  lease.onEcho('b', 0);
  assert.not.ok(lease.holds());
});

test.run();
