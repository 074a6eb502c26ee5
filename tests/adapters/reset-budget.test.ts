// The mirror of nghttp2's stream-reset token bucket (ADR 0017): a burst of 1,000, 33
// more per whole second, capped at the burst; and when a connection must be moved.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freshResetBudget, shouldDrain, spendResets, STREAM_RESET_BURST, STREAM_RESET_RATE_PER_SEC } from '../../src/adapters/grpc/reset-budget.js';

test('a fresh connection may take the whole burst', () => {
  let budget = freshResetBudget(100.2);
  for (let i = 0; i < STREAM_RESET_BURST; i++) budget = spendResets(budget, 100.9);
  assert.is(budget.tokens, 0);
  assert.is(spendResets(budget, 100.9).tokens, -1);
});

test('tokens come back only per whole second elapsed, at the rate, up to the burst', () => {
  const empty = spendResets(freshResetBudget(10), 10, STREAM_RESET_BURST);
  assert.is(spendResets(empty, 10.99, 0).tokens, 0, 'a fraction of a second adds nothing');
  const afterOne = spendResets(empty, 11.01, 0);
  assert.is(afterOne.tokens, STREAM_RESET_RATE_PER_SEC);
  assert.is(afterOne.refilledAtSec, 11);
  assert.is(spendResets(afterOne, 12.5, 0).tokens, 2 * STREAM_RESET_RATE_PER_SEC, 'the second second counts once');
  assert.is(spendResets(empty, 10_000, 0).tokens, STREAM_RESET_BURST, 'never above the burst');
});

test('a clock that does not move forward refills nothing', () => {
  const half = spendResets(freshResetBudget(50), 50, 500);
  assert.is(spendResets(half, 49, 0).tokens, 500);
});

test('drain once the tokens left no longer cover the open streams and the margin', () => {
  const budget = spendResets(freshResetBudget(0), 0, 600); // 400 left
  assert.not.ok(shouldDrain(budget, 200, 100));
  assert.ok(shouldDrain(budget, 300, 100));
  assert.ok(shouldDrain(budget, 0, 400));
});

test.run();
