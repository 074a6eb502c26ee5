import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { majority, quorumCommitOffset } from '../../src/domain/replication/quorum.js';

test('majority of an ensemble', () => {
  assert.equal([1, 2, 3, 4, 5].map(majority), [1, 2, 2, 3, 3]);
  assert.throws(() => majority(0), /positive integer/);
});

test('a lone leader commits what it holds', () => {
  assert.is(quorumCommitOffset([7n], 1), 7n);
  assert.is(quorumCommitOffset([-1n], 1), -1n);
});

test('three replicas commit the second-highest durable offset', () => {
  assert.is(quorumCommitOffset([10n, 4n, 7n], 3), 7n);
  assert.is(quorumCommitOffset([10n, 4n], 3), 4n);
  assert.is(quorumCommitOffset([10n], 3), -1n, 'the leader alone is no majority of three');
});

test('five replicas need three', () => {
  assert.is(quorumCommitOffset([9n, 8n, 3n, 2n, 1n], 5), 3n);
  assert.is(quorumCommitOffset([9n, 8n], 5), -1n);
});

test.run();
