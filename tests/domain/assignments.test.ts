import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { shardAssignmentsMessage } from '../../src/domain/sharding/assignments.js';
import { splitHashRange } from '../../src/domain/sharding/hash-range.js';
import { ShardAssignments, ShardKeyRouter } from '../../src/domain/wire/client.js';

test('assignments carry each shard, its inclusive range, its leader and the XXH3 router', () => {
  const ranges = splitHashRange(2);
  const msg = shardAssignmentsMessage(new Map([['default', ranges.map((range, i) => ({ shard: BigInt(i), range, leader: 'h:1' }))]]));
  const decoded = ShardAssignments.decode(ShardAssignments.encode(msg).finish());
  const ns = decoded.namespaces['default'];
  assert.ok(ns);
  assert.is(ns.shardKeyRouter, ShardKeyRouter.XXHASH3);
  assert.equal(ns.assignments.map((a) => [a.shard, a.leader, a.shardBoundaries?.value]), [
    [0n, 'h:1', { minHashInclusive: 0, maxHashInclusive: 2147483647 }],
    [1n, 'h:1', { minHashInclusive: 2147483648, maxHashInclusive: 4294967295 }],
  ]);
});

test.run();
