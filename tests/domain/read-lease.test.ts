// Read leases (domain/replication/read-lease.ts): the leader's lease from its followers'
// echoes, the followers' promise, and the property that makes them safe together: whatever
// the clocks' rates within the drift bound, a follower's promise outlasts, in real time,
// every lease its echo helped grant.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_COORDINATOR_SETTINGS } from '../../src/application/coordinator/coordinator-settings.js';
import {
  followerWaitMs,
  leaseExpiresAt,
  promiseAfterProbe,
  promiseRemainingMs,
  quorumLeaseStart,
  READ_LEASE_TIMING,
  type ReadLeaseTiming,
} from '../../src/domain/replication/read-lease.js';

const timing: ReadLeaseTiming = { leaseMs: 1_000, probeIntervalMs: 100, clockDriftBound: 0.01 };

test('a lone replica always holds its lease; otherwise a majority must have echoed', () => {
  assert.is(quorumLeaseStart([], 1), Infinity, 'replication factor 1: no other replica can lead');
  assert.is(leaseExpiresAt(quorumLeaseStart([], 1), timing), Infinity);
  assert.is(quorumLeaseStart([], 3), -Infinity, 'no echo yet');
  assert.is(quorumLeaseStart([500], 3), 500, 'the leader and one follower are two of three');
  assert.is(quorumLeaseStart([500, 900], 3), 900, 'the newest echo of either follower');
  assert.is(quorumLeaseStart([500], 2), 500);
  assert.is(quorumLeaseStart([100, 300, 200, 400], 5), 300, 'two followers of four: the second newest');
  assert.is(quorumLeaseStart([100], 5), -Infinity, 'one follower and the leader are not three of five');
  assert.is(leaseExpiresAt(900, timing), 1_900);
});

test("a follower's promise starts at each probe it receives, never moves back, and counts down", () => {
  const wait = followerWaitMs(timing);
  assert.ok(wait > timing.leaseMs && wait < timing.leaseMs * 1.03, `waits ${wait} ms for a 1000 ms lease`);
  let until = promiseAfterProbe(-Infinity, 0, timing);
  assert.is(until, wait, "a node's start counts as a probe");
  until = promiseAfterProbe(until, 250, timing);
  assert.is(until, 250 + wait);
  assert.is(promiseAfterProbe(until, 100, timing), until, 'an older receipt does not shorten it');
  assert.is(promiseRemainingMs(until, 250), wait);
  assert.is(promiseRemainingMs(until, 250 + wait + 1), 0);
  const detection = DEFAULT_COORDINATOR_SETTINGS.healthCheckTimeoutMs;
  assert.ok(followerWaitMs(READ_LEASE_TIMING) < detection, `the default promise ends before the coordinator can declare a frozen leader down (${detection} ms)`);
});

test('whatever the clock rates within the bound, no lease outlives the promise of a follower that granted it', () => {
  // Real time in ms. The leader sends a probe at `sent`; the follower receives it at `received`
  // (later) and is fenced some time after. Each clock runs at a rate within 1 ± drift.
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 10_000; i++) {
    const d = timing.clockDriftBound;
    const leaderRate = 1 - d + random() * 2 * d;
    const followerRate = 1 - d + random() * 2 * d;
    const sent = random() * 10_000;
    const received = sent + random() * 50;
    // The leader's lease ends when its clock has advanced leaseMs since sending.
    const leaseEndsReal = sent + timing.leaseMs / leaderRate;
    // The follower keeps its promise until its clock has advanced the wait since receiving.
    const promiseEndsReal = received + followerWaitMs(timing) / followerRate;
    assert.ok(promiseEndsReal >= leaseEndsReal, `leader rate ${leaderRate}, follower rate ${followerRate}: lease ends ${leaseEndsReal}, promise ${promiseEndsReal}`);
  }
});

test.run();
