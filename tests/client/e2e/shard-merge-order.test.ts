// The order of list and rangeScan results across the shards of a namespace, against a
// real `oxia-ts standalone` with three shards: the order the official Oxia clients give
// (ADR 0006, "Client merge order"). list sorts every shard's keys by CompareWithSlash;
// rangeScan takes, each time, the shards' head with the smallest key by CompareWithSlash.
// Where a test needs to know which shard holds a key, it places the key with a partition key.
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { ComparisonType, OxiaClient } from '../../../src/adapters/client/index.js';
import { shardOfRoutingKey } from '../../../src/adapters/client/oxia-client.js';
import { startStandalone, type StandaloneProcess } from '../../support/standalone.js';

const SHARDS = 3;
const decode = (v: Uint8Array | undefined) => new TextDecoder().decode(v);
const quiet = { warn: () => {} };

/** The issue's keys (also the official suite's "diverges from natural ordering" case), under /p. */
const ISSUE_KEYS = ['/a', '/aa', '/a/b', '/a/b/c', '/aa/a', '/b', '/b/a', '/b/ab'].map((s) => `/p${s}`);
/** How the official clients list them from several shards, in either key sorting. */
const ISSUE_LISTED = ['/a', '/aa', '/b', '/a/b', '/a/b/c', '/aa/a', '/b/a', '/b/ab'].map((s) => `/p${s}`);
/** ISSUE_KEYS by shard, for the rangeScan tests: [first shard's keys, second's, third's]. */
const ISSUE_PLACEMENT = [
  ['/a', '/aa/a', '/a/b/c'],
  ['/aa', '/a/b', '/b/ab'],
  ['/b', '/b/a'],
].map((keys) => keys.map((s) => `/p${s}`));

/** One partition key per shard, the first found routing to each. */
function partitionKeysPerShard(client: OxiaClient): string[] {
  const byShard = new Map<number, string>();
  for (let i = 0; byShard.size < SHARDS; i++) {
    if (i > 10_000) throw new Error('no partition key found for some shard');
    const pk = `pk-${i}`;
    const shard = shardOfRoutingKey(client, pk);
    if (!byShard.has(shard)) byShard.set(shard, pk);
  }
  return [...byShard.values()];
}

async function scanKeys(client: OxiaClient, min: string, max: string, options: { useIndex?: string } = {}): Promise<string[]> {
  const keys: string[] = [];
  for await (const r of client.rangeScan(min, max, options)) {
    assert.is(decode(r.value), r.key, 'each record comes with its own value');
    keys.push(r.key);
  }
  return keys;
}

function orderSuite(sorting: 'hierarchical' | 'natural', define: (S: Test<Ctx>) => void): void {
  const S = suite<Ctx>(`shard merge order, --key-sorting ${sorting}, --shards ${SHARDS}`, {} as Ctx);
  S.before(async (ctx) => {
    ctx.server = await startStandalone({ shards: SHARDS, kv: 'level', extraArgs: ['--key-sorting', sorting] });
    ctx.client = await OxiaClient.connect(ctx.server.address, { keySorting: sorting, logger: quiet });
    ctx.pks = partitionKeysPerShard(ctx.client);
  });
  S.after(async (ctx) => {
    await ctx.client?.close();
    await ctx.server?.stop();
  });
  // Ranges over several levels of a hierarchical namespace take in every key of the levels
  // between; and a merge interleaves by whatever heads the streams: each test starts empty.
  S.before.each(async ({ client }) => {
    await client.deleteRange('', '');
    assert.equal(await client.list('', ''), [], 'the namespace is empty');
  });
  define(S);
  S.run();
}

interface Ctx {
  server: StandaloneProcess;
  client: OxiaClient;
  pks: string[];
}

orderSuite('hierarchical', (S) => {
  S('official case: list preserves hierarchical ordering where it diverges from natural (the issue example)', async ({ client }) => {
    await Promise.all(ISSUE_KEYS.map((k) => client.put(k, k)));
    assert.ok(new Set(ISSUE_KEYS.map((k) => shardOfRoutingKey(client, k))).size > 1, 'the keys live on several shards');
    assert.equal(await client.list('/p/', '/p/~/~/~'), ISSUE_LISTED);
    assert.not.equal([...ISSUE_KEYS].sort(), ISSUE_LISTED, 'natural order differs here');
  });

  S('one shard (a partition key) lists and scans in its own order, depth first', async ({ client }) => {
    await Promise.all(ISSUE_KEYS.map((k) => client.put(k, k, { partitionKey: 'one' })));
    const shardOrder = ['/a', '/aa', '/b', '/aa/a', '/a/b', '/b/a', '/b/ab', '/a/b/c'].map((s) => `/p${s}`);
    assert.equal(await client.list('/p/', '/p/~/~/~', { partitionKey: 'one' }), shardOrder);
    const scanned: string[] = [];
    for await (const r of client.rangeScan('/p/', '/p/~/~/~', { partitionKey: 'one' })) scanned.push(r.key);
    assert.equal(scanned, shardOrder);
  });

  S('rangeScan takes the smallest head each time: not sorted where the shards order differently', async ({ client, pks }) => {
    await Promise.all(ISSUE_PLACEMENT.flatMap((keys, i) => keys.map((k) => client.put(k, k, { partitionKey: pks[i] as string }))));
    // The first shard streams /p/a, /p/aa/a, /p/a/b/c: /p/aa/a is taken before /p/a/b/c.
    assert.equal(await scanKeys(client, '/p/', '/p/~/~/~'), ['/a', '/aa', '/b', '/a/b', '/aa/a', '/a/b/c', '/b/a', '/b/ab'].map((s) => `/p${s}`));
    assert.equal(await client.list('/p/', '/p/~/~/~'), ISSUE_LISTED, 'list sorts whatever the placement');
  });

  S('official case: list returns keys in order across shards', async ({ client }) => {
    const keys = ['/a', '/b', '/c', '/d'].map((s) => `/q${s}`);
    for (const k of keys) await client.put(k, 'v');
    assert.equal(await client.list('/q/a', '/q/e'), keys);
  });

  S('official case: list on an empty range returns []', async ({ client }) => {
    await client.put('/q/a', '0');
    assert.equal(await client.list('/q/y', '/q/z'), []);
    assert.equal(await client.list('ZZZ_nonexistent_a', 'ZZZ_nonexistent_z'), []);
  });

  S('official case: rangeScan yields keys and values in order, within the bounds', async ({ client }) => {
    for (const [s, v] of [['/b', '1'], ['/a', '0'], ['/d', '3'], ['/c', '2'], ['/e', '4']] as const) await client.put(`/q${s}`, v);
    const seen: [string, string][] = [];
    for await (const r of client.rangeScan('/q/b', '/q/e')) seen.push([r.key, decode(r.value)]);
    assert.equal(seen, [['/q/b', '1'], ['/q/c', '2'], ['/q/d', '3']]);
  });

  S('rangeScan by a secondary index merges by primary key, as the official clients do', async ({ client, pks }) => {
    const [x, y] = pks as [string, string];
    await client.put('/i/k1', '/i/k1', { partitionKey: x, secondaryIndexes: { idx: 'z' } });
    await client.put('/i/k3', '/i/k3', { partitionKey: x, secondaryIndexes: { idx: 'a' } });
    await client.put('/i/k2', '/i/k2', { partitionKey: y, secondaryIndexes: { idx: 'm' } });
    // The first shard streams in secondary key order (k3, k1); the merge compares primary keys.
    assert.equal(await scanKeys(client, 'a', '~', { useIndex: 'idx' }), ['/i/k2', '/i/k3', '/i/k1']);
    assert.equal(await client.list('a', '~', { useIndex: 'idx' }), ['/i/k1', '/i/k2', '/i/k3']);
  });
});

orderSuite('natural', (S) => {
  S('list sorts by CompareWithSlash in a natural namespace too', async ({ client }) => {
    await Promise.all(ISSUE_KEYS.map((k) => client.put(k, k)));
    assert.ok(new Set(ISSUE_KEYS.map((k) => shardOfRoutingKey(client, k))).size > 1, 'the keys live on several shards');
    assert.equal(await client.list('/p/', '/p/~'), ISSUE_LISTED);
  });

  S('one shard (a partition key) lists and scans in its own order, bytewise', async ({ client }) => {
    await Promise.all(ISSUE_KEYS.map((k) => client.put(k, k, { partitionKey: 'one' })));
    const shardOrder = ['/a', '/a/b', '/a/b/c', '/aa', '/aa/a', '/b', '/b/a', '/b/ab'].map((s) => `/p${s}`);
    assert.equal(await client.list('/p/', '/p/~', { partitionKey: 'one' }), shardOrder);
    const scanned: string[] = [];
    for await (const r of client.rangeScan('/p/', '/p/~', { partitionKey: 'one' })) scanned.push(r.key);
    assert.equal(scanned, shardOrder);
  });

  S('rangeScan merges byte-ordered shard streams by CompareWithSlash', async ({ client, pks }) => {
    await Promise.all(ISSUE_PLACEMENT.flatMap((keys, i) => keys.map((k) => client.put(k, k, { partitionKey: pks[i] as string }))));
    // The second shard streams /p/a/b, /p/aa, /p/b/ab: /p/a/b is taken before /p/aa.
    assert.equal(await scanKeys(client, '/p/', '/p/~'), ['/a', '/b', '/a/b', '/aa', '/a/b/c', '/aa/a', '/b/a', '/b/ab'].map((s) => `/p${s}`));
  });

  S('non-EQUAL gets pick the nearest key in the namespace order, unlike the official clients', async ({ client, pks }) => {
    await Promise.all(ISSUE_PLACEMENT.flatMap((keys, i) => keys.map((k) => client.put(k, k, { partitionKey: pks[i] as string }))));
    assert.is((await client.get('/p/a/b/d', { comparisonType: ComparisonType.FLOOR })).key, '/p/a/b/c');
    assert.is((await client.get('/p/a/c', { comparisonType: ComparisonType.CEILING })).key, '/p/aa');
    assert.is((await client.get('/p/a/b/c', { comparisonType: ComparisonType.HIGHER })).key, '/p/aa');
    // The shards answer /p/aa/a, /p/aa and /p/b: the nearest below /p/b/0 bytewise is /p/b;
    // the official clients take the greatest by CompareWithSlash, /p/aa/a.
    assert.is((await client.get('/p/b/0', { comparisonType: ComparisonType.FLOOR })).key, '/p/b');
  });
});
