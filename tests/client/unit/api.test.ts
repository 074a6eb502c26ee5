// The public API on the in-process transport: results, errors, options, routing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ComparisonType,
  EXPECTED_RECORD_DOES_NOT_EXIST,
  InvalidOptionsError,
  KeyNotFoundError,
  OxiaError,
  UnexpectedVersionIdError,
  Version,
} from '../../../src/adapters/client/index.js';
import type { OxiaClient } from '../../../src/adapters/client/oxia-client.js';
import { keyComparator } from '../../../src/domain/keys/key-encoder.js';
import { FakeCluster } from '../support/fake-transport.js';
import { clientOn, rejects } from '../support/fake-client.js';

const decode = (v: Uint8Array | undefined) => new TextDecoder().decode(v);

const api = suite<{ cluster: FakeCluster; client: OxiaClient }>('api');

api.before.each(async (ctx) => {
  ctx.cluster = new FakeCluster(3);
  ctx.client = await clientOn(ctx.cluster);
});
api.after.each(async (ctx) => {
  await ctx.client.close();
});

api('put then get returns the value and the version', async ({ client }) => {
  const put = await client.put('/a', 'hello');
  assert.is(put.key, '/a');
  assert.ok(put.version instanceof Version);
  assert.is(put.version.modificationsCount, 0);
  assert.is(put.version.isEphemeral(), false);
  const got = await client.get('/a');
  assert.is(got.key, '/a');
  assert.is(decode(got.value), 'hello');
  assert.ok(!Buffer.isBuffer(got.value), 'values are plain Uint8Arrays');
  assert.is(got.version.versionId, put.version.versionId);
  assert.ok(got.version.createdTimestamp instanceof Date);
  const second = await client.put('/a', new Uint8Array([0, 255]), { expectedVersionId: put.version.versionId });
  assert.is(second.version.modificationsCount, 1);
  assert.equal([...((await client.get('/a')).value ?? [])], [0, 255]);
});

api('each key is written to the shard its routing hash falls in; a partition key overrides', async ({ client, cluster }) => {
  const keys = Array.from({ length: 30 }, (_, i) => `/k/${i}`);
  await Promise.all(keys.map((k) => client.put(k, 'v')));
  const shardsUsed = new Set<bigint>();
  for (const call of cluster.writes) {
    for (const p of call.request.puts) {
      assert.is(call.shard, cluster.shardOf(p.key).id, `shard of ${p.key}`);
      shardsUsed.add(call.shard);
    }
  }
  assert.is(shardsUsed.size, 3, 'thirty keys spread over all three shards');
  cluster.writes.length = 0;
  await Promise.all(keys.map((k) => client.put(k, 'v', { partitionKey: 'p' })));
  assert.equal(new Set(cluster.writes.map((w) => w.shard)), new Set([cluster.shardOf('p').id]));
  assert.ok(cluster.writes.every((w) => w.request.puts.every((p) => p.partitionKey === 'p')));
});

api('conditional writes and missing keys raise the official error classes', async ({ client }) => {
  await client.put('/c', 'x', { expectedVersionId: EXPECTED_RECORD_DOES_NOT_EXIST });
  await rejects(() => client.put('/c', 'y', { expectedVersionId: EXPECTED_RECORD_DOES_NOT_EXIST }), (e: unknown) => e instanceof UnexpectedVersionIdError);
  await rejects(() => client.put('/c', 'y', { expectedVersionId: 999_999 }), (e: unknown) => e instanceof UnexpectedVersionIdError && e instanceof OxiaError);
  await rejects(() => client.get('/missing'), (e: unknown) => e instanceof KeyNotFoundError && /\/missing/.test((e as Error).message));
  await rejects(() => client.delete('/c', { expectedVersionId: 999_999 }), (e: unknown) => e instanceof UnexpectedVersionIdError);
  assert.is(await client.delete('/c'), true);
  assert.is(await client.delete('/c'), false);
});

api('options that do not fit together are rejected before anything is sent', async ({ client, cluster }) => {
  await rejects(() => client.put('a', '0', { sequenceKeysDeltas: [1] }), (e: unknown) => e instanceof InvalidOptionsError);
  await rejects(() => client.put('a', '0', { sequenceKeysDeltas: [1], partitionKey: 'x', expectedVersionId: 1 }), (e: unknown) => e instanceof InvalidOptionsError);
  await rejects(() => client.put('a', '0', { sequenceKeysDeltas: [], partitionKey: 'x' }), (e: unknown) => e instanceof InvalidOptionsError);
  await rejects(() => client.put('a', '0', { expectedVersionId: 1.5 }), (e: unknown) => e instanceof InvalidOptionsError);
  await rejects(() => client.get('a', { comparisonType: 9 as ComparisonType }), (e: unknown) => e instanceof InvalidOptionsError);
  assert.throws(() => client.getSequenceUpdates('a', { partitionKey: '' }), (e: unknown) => e instanceof InvalidOptionsError);
  assert.is(cluster.writes.length, 0);
});

api('get with includeValue false returns metadata only', async ({ client }) => {
  await client.put('/m', 'hidden');
  const got = await client.get('/m', { includeValue: false });
  assert.is(got.key, '/m');
  assert.is(got.value, undefined);
});

api('list sorts the keys of all shards by CompareWithSlash, as the official clients do', async ({ client, cluster }) => {
  const suffixes = ['/a', '/aa', '/a/b', '/a/b/c', '/aa/a', '/b', '/b/a', '/b/ab', '/c', '/d', '/e'];
  const keys = suffixes.map((s) => `/p${s}`);
  for (const k of keys) await client.put(k, k);
  assert.ok(new Set(keys.map((k) => cluster.shardOf(k).id)).size > 1, 'the keys live on several shards');
  // A key ending at a level sorts before every key going deeper at that level.
  const expected = ['/p/a', '/p/aa', '/p/b', '/p/c', '/p/d', '/p/e', '/p/a/b', '/p/a/b/c', '/p/aa/a', '/p/b/a', '/p/b/ab'];
  assert.not.equal([...keys].sort(), expected, 'natural order differs here');
  assert.not.equal([...keys].sort(keyComparator('hierarchical')), expected, 'the shards\' order differs here');
  assert.equal(await client.list('/p/', '/p/~/~/~'), expected);
  assert.equal(await client.list('/p/b', '/p/d'), ['/p/b', '/p/c']);
  assert.equal(await client.list('/q/', '/q/~'), []);
});

/** Partition keys that route to shards 0, 1 and 2 of the fake cluster, so a test decides where each record lives. */
function partitionKeysPerShard(cluster: FakeCluster): string[] {
  const found: string[] = [];
  for (let i = 0; found.length < cluster.shards.size; i++) {
    const pk = `pk-${i}`;
    const shard = Number(cluster.shardOf(pk).id);
    found[shard] ??= pk;
  }
  return found;
}

api('rangeScan takes the smallest head by CompareWithSlash each time, as the official clients do', async ({ client, cluster }) => {
  const [x, y, z] = partitionKeysPerShard(cluster) as [string, string, string];
  const placed: [string, string][] = [
    ['/p/a', x], ['/p/aa/a', x], ['/p/a/b/c', x],
    ['/p/aa', y], ['/p/a/b', y], ['/p/b/ab', y],
    ['/p/b', z], ['/p/b/a', z],
  ];
  for (const [k, pk] of placed) await client.put(k, k, { partitionKey: pk });
  const scanned: string[] = [];
  for await (const r of client.rangeScan('/p/', '/p/~/~/~')) {
    assert.is(decode(r.value), r.key);
    scanned.push(r.key);
  }
  // Each shard streams in its own (hierarchical) order, x: /p/a, /p/aa/a, /p/a/b/c; when
  // /p/aa/a heads x it is taken before /p/a/b/c is seen, though CompareWithSlash puts it after.
  assert.equal(scanned, ['/p/a', '/p/aa', '/p/b', '/p/a/b', '/p/aa/a', '/p/a/b/c', '/p/b/a', '/p/b/ab']);
  assert.equal(await client.list('/p/', '/p/~/~/~'), ['/p/a', '/p/aa', '/p/b', '/p/a/b', '/p/a/b/c', '/p/aa/a', '/p/b/a', '/p/b/ab']);
});

api('list and rangeScan of one shard keep the shard\'s order', async ({ client }) => {
  const keys = ['/s/a/b/c', '/s/aa/a', '/s/b', '/s/a/b', '/s/a'];
  for (const k of keys) await client.put(k, k, { partitionKey: 'one' });
  const shardOrder = ['/s/a', '/s/b', '/s/aa/a', '/s/a/b', '/s/a/b/c'];
  assert.equal(await client.list('/s/', '/s/~/~/~', { partitionKey: 'one' }), shardOrder);
  const scanned: string[] = [];
  for await (const r of client.rangeScan('/s/', '/s/~/~/~', { partitionKey: 'one' })) scanned.push(r.key);
  assert.equal(scanned, shardOrder);
});

api('leaving a rangeScan early stops reading the shards', async ({ client, cluster }) => {
  for (let i = 0; i < 40; i++) await client.put(`/s/${String(i).padStart(2, '0')}`, 'v');
  const seen: string[] = [];
  for await (const r of client.rangeScan('/s/', '/s/~')) {
    seen.push(r.key);
    if (seen.length === 3) break;
  }
  assert.equal(seen, ['/s/00', '/s/01', '/s/02']);
  assert.is(cluster.scans.length, 3, 'one stream per shard');
});

api('non-EQUAL gets ask every shard and pick the nearest key', async ({ client, cluster }) => {
  for (const k of ['/f/a', '/f/c', '/f/d', '/f/e', '/f/g']) await client.put(k, k);
  const at = async (key: string, comparisonType: ComparisonType) => (await client.get(key, { comparisonType })).key;
  assert.is(await at('/f/b', ComparisonType.FLOOR), '/f/a');
  assert.is(await at('/f/f', ComparisonType.FLOOR), '/f/e');
  assert.is(await at('/f/b', ComparisonType.CEILING), '/f/c');
  assert.is(await at('/f/c', ComparisonType.LOWER), '/f/a');
  assert.is(await at('/f/e', ComparisonType.HIGHER), '/f/g');
  await rejects(() => at('/f/a', ComparisonType.LOWER), (e: unknown) => e instanceof KeyNotFoundError);
  const reads = cluster.reads.length;
  await at('/f/d', ComparisonType.EQUAL);
  assert.is(cluster.reads.length, reads + 1, 'EQUAL reads one shard');
});

api('deleteRange reaches every shard, or only the partition key shard', async ({ client, cluster }) => {
  for (const k of ['/r/a', '/r/b', '/r/c', '/r/d', '/r/e', '/r/f']) await client.put(k, 'v');
  cluster.writes.length = 0;
  await client.deleteRange('/r/b', '/r/e');
  assert.equal(new Set(cluster.writes.map((w) => w.shard)), new Set([0n, 1n, 2n]));
  assert.equal(await client.list('/r/', '/r/~'), ['/r/a', '/r/e', '/r/f']);
  cluster.writes.length = 0;
  await client.deleteRange('/r/', '/r/~', { partitionKey: 'x' });
  assert.equal(cluster.writes.map((w) => w.shard), [cluster.shardOf('x').id]);
});

api('calls after close fail with OxiaError', async ({ client }) => {
  await client.close();
  await client.close();
  await rejects(() => client.put('/a', 'v'), (e: unknown) => e instanceof OxiaError && (e as OxiaError).kind === 'Closed');
  assert.throws(() => client.getNotifications(), (e: unknown) => e instanceof OxiaError);
});

api.run();
