// The shard directory's memo of routing hashes (recently routed keys) routes every key as the
// hash itself does, also once the memo is full and starts over, and for keys too long to keep.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShardDirectory } from '../../../src/adapters/client/internal/shard-directory.js';
import { findByHash, splitHashRange } from '../../../src/domain/sharding/hash-range.js';
import { routingHash } from '../../../src/domain/sharding/hash.js';
import { ShardKeyRouter } from '../../../src/domain/wire/client.js';

test('the routing-hash memo routes every key as its hash does, also after it starts over', () => {
  const directory = new ShardDirectory();
  const ranges = splitHashRange(3);
  directory.update({
    shardKeyRouter: ShardKeyRouter.XXHASH3,
    assignments: ranges.map((r, i) => ({
      shard: BigInt(i),
      leader: `server-${i}:1`,
      shardBoundaries: { $case: 'int32HashRange', value: { minHashInclusive: r.min, maxHashInclusive: r.max } },
    })),
  });
  const shards = directory.all();
  // More keys than the memo holds, twice: the second pass finds some remembered, some not.
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < 20_000; i++) {
      const key = i % 1000 === 0 ? `/long/${'x'.repeat(300)}/${i}` : `/k/${i}`;
      assert.is(directory.shardFor(key), findByHash(shards, routingHash(key)), key);
    }
  }
});

test.run();
