// The deleted shards of a node on a real file (FileShardTombstones): they outlive the instance,
// a torn last line (an append that never completed) is ignored and replaced, a damaged line
// fails the start with the file named, concurrent or repeated deletions each land once, and one
// whose append failed is appended when asked for again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileShardTombstones, TOMBSTONE_FILE_NAME } from '../../src/adapters/files/shard-tombstone-file.js';
import { withTempDir } from '../support/temp-dir.js';

const fileOf = (dir: string) => readFileSync(join(dir, TOMBSTONE_FILE_NAME), 'latin1');

test(
  'deletions outlive the instance; the largest shard id fits; the data directory is made when missing',
  () => withTempDir('tombstones', async (root) => {
    const dir = join(root, 'db');
    const first = new FileShardTombstones(dir);
    assert.not.ok(first.has(3n));
    const pending = first.add(3n);
    assert.ok(first.has(3n), 'known at once, before the append is durable');
    await pending;
    await first.add(2n ** 64n - 1n);
    const reopened = new FileShardTombstones(dir);
    assert.ok(reopened.has(3n));
    assert.ok(reopened.has(2n ** 64n - 1n));
    assert.not.ok(reopened.has(4n));
    assert.is(fileOf(dir), `3\n${2n ** 64n - 1n}\n`);
  }),
);

test(
  'a torn last line is an append that never completed: ignored, and overwritten by the next one',
  () => withTempDir('tombstones', async (dir) => {
    writeFileSync(join(dir, TOMBSTONE_FILE_NAME), '5\n7');
    const tombstones = new FileShardTombstones(dir);
    assert.ok(tombstones.has(5n));
    assert.not.ok(tombstones.has(7n), 'the torn line');
    await tombstones.add(9n);
    assert.is(fileOf(dir), '5\n9\n');
    writeFileSync(join(dir, TOMBSTONE_FILE_NAME), '12');
    const onlyTorn = new FileShardTombstones(dir);
    assert.not.ok(onlyTorn.has(12n));
    await onlyTorn.add(1n);
    assert.is(fileOf(dir), '1\n');
  }),
);

test(
  'a damaged line fails the start, naming the file and the line',
  () => withTempDir('tombstones', (dir) => {
    writeFileSync(join(dir, TOMBSTONE_FILE_NAME), '5\nfive\n');
    assert.throws(
      () => new FileShardTombstones(dir),
      (e: Error) => e.message.includes(join(dir, TOMBSTONE_FILE_NAME)) && e.message.includes('line 2') && e.message.includes('"five"'),
    );
  }),
);

test(
  'concurrent deletions each land whole and once; a repeated one is not written again',
  () => withTempDir('tombstones', async (dir) => {
    const tombstones = new FileShardTombstones(dir);
    const ids = Array.from({ length: 20 }, (_, i) => BigInt(i * 7));
    await Promise.all([...ids, ...ids.slice(0, 5)].map((id) => tombstones.add(id)));
    await tombstones.add(0n);
    const lines = fileOf(dir).split('\n');
    assert.is(lines.pop(), '', 'every line ends');
    assert.equal([...lines].sort(), ids.map(String).sort(), 'each id once');
    const reopened = new FileShardTombstones(dir);
    for (const id of ids) assert.ok(reopened.has(id), `shard ${id}`);
  }),
);

test(
  'a deletion whose append failed is appended when it is asked for again (a retried DeleteShard)',
  () => withTempDir('tombstones', async (root) => {
    const dir = join(root, 'db');
    const tombstones = new FileShardTombstones(dir);
    writeFileSync(dir, 'a file where the directory should be');
    const failed = await tombstones.add(7n).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(failed, 'the append failed');
    assert.ok(tombstones.has(7n), 'still refused in this run');
    rmSync(dir);
    await tombstones.add(7n);
    assert.ok(new FileShardTombstones(dir).has(7n), 'on disk after the retry');
    assert.is(fileOf(dir), '7\n');
  }),
);

test(
  'a negative shard id is refused, and nothing is written',
  () => withTempDir('tombstones', async (dir) => {
    const tombstones = new FileShardTombstones(dir);
    const error = await tombstones.add(-1n).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.match(error?.message ?? 'accepted', /bad shard id -1/);
    assert.not.ok(tombstones.has(-1n));
  }),
);

test.run();
