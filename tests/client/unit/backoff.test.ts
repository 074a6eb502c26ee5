// The client's retry delays: doubling from the first delay to the cap, each within ±20 %
// (the figures the client has always used, now computed by the domain's backoffDelayMs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Backoff } from '../../../src/adapters/client/internal/backoff.js';

const delays = (backoff: Backoff, n: number): number[] => Array.from({ length: n }, () => backoff.next());

test('without jitter the delays double from the first one up to the cap', () => {
  assert.equal(delays(new Backoff(50, 2000, () => 0.5), 9), [50, 100, 200, 400, 800, 1600, 2000, 2000, 2000]);
});

test('jitter keeps each delay within 20 % of its base', () => {
  assert.equal(delays(new Backoff(50, 2000, () => 0), 3), [40, 80, 160]);
  assert.equal(delays(new Backoff(50, 2000, () => 0.999_999), 3), [60, 120, 240]);
});

test('reset starts over at the first delay', () => {
  const backoff = new Backoff(100, 1000, () => 0.5);
  assert.equal(delays(backoff, 3), [100, 200, 400]);
  backoff.reset();
  assert.equal(delays(backoff, 2), [100, 200]);
});

test.run();
