// The read cache in front of the stores: the KvStore contract holds through it (both
// backends, with a cache small enough to evict during the suite), the LRU keeps its byte
// bound, the bytes it counts cover what its entries hold in memory, and a read that overlaps
// a write never leaves the older value cached.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvStore } from '../../src/application/ports/kv-store.js';
import { CachedKvStore, CachedKvStoreFactory } from '../../src/adapters/kv-cache/cached-kv-store.js';
import { KvReadCache, READ_CACHE_ENTRY_OVERHEAD_BYTES } from '../../src/adapters/kv-cache/read-cache.js';
import { LevelKvStoreFactory } from '../../src/adapters/kv-level/level-kv-store-factory.js';
import { SqliteKvStoreFactory } from '../../src/adapters/kv-sqlite/sqlite-kv-store-factory.js';
import { kvStoreContract } from '../contracts/kv-store.contract.js';

kvStoreContract('sqlite behind the read cache', (dataDir) => new CachedKvStoreFactory(new SqliteKvStoreFactory({ dataDir }), new KvReadCache(4096)), 'sqlite');
kvStoreContract('level behind the read cache', (dataDir) => new CachedKvStoreFactory(new LevelKvStoreFactory({ dataDir }), new KvReadCache(4096)), 'level');

const bytes = (...b: number[]) => new Uint8Array(b);

test('read cache: least recently used entries leave first, within the byte bound', () => {
  const cache = new KvReadCache(3 * (1 + 10 + READ_CACHE_ENTRY_OVERHEAD_BYTES));
  for (const k of ['a', 'b', 'c']) cache.set(k, new Uint8Array(10));
  assert.is(cache.entryCount, 3);
  cache.get('a'); // a is now the most recent: b goes first
  cache.set('d', new Uint8Array(10));
  assert.equal([cache.has('a'), cache.has('b'), cache.has('c'), cache.has('d')], [true, false, true, true]);
  assert.ok(cache.sizeBytes <= cache.maxBytes);
  cache.set('c', new Uint8Array(100)); // replaced by a larger value: others are evicted to fit
  assert.ok(cache.sizeBytes <= cache.maxBytes, `${cache.sizeBytes} <= ${cache.maxBytes}`);
  assert.is(cache.get('c')?.byteLength, 100);
  cache.set('huge', new Uint8Array(cache.maxBytes)); // larger than the whole cache: not kept
  assert.not.ok(cache.has('huge'));
  cache.set('1/x', bytes(1));
  cache.set('1/y', bytes(2));
  cache.set('2/x', bytes(3));
  cache.deletePrefix('1/');
  assert.equal([cache.has('1/x'), cache.has('1/y'), cache.has('2/x')], [false, false, true]);
  assert.throws(() => new KvReadCache(-1), /non-negative/);
});

test('read cache: resizing takes the new bound at once (live configuration)', () => {
  const entry = 1 + 10 + READ_CACHE_ENTRY_OVERHEAD_BYTES;
  const cache = new KvReadCache(4 * entry);
  for (const k of ['a', 'b', 'c', 'd']) cache.set(k, new Uint8Array(10));
  assert.is(cache.entryCount, 4);
  cache.resize(2 * entry);
  assert.is(cache.maxBytes, 2 * entry);
  assert.is(cache.entryCount, 2);
  assert.ok(cache.sizeBytes <= 2 * entry);
  cache.resize(8 * entry);
  for (const k of ['e', 'f', 'g', 'h', 'i']) cache.set(k, new Uint8Array(10));
  assert.is(cache.entryCount, 7);
  assert.throws(() => cache.resize(-1), /non-negative/);
});

test('read cache: writes replace or drop cached entries; keys only read are cached', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-kv-cache-'));
  const cache = new KvReadCache(1 << 20);
  const factory = new CachedKvStoreFactory(new SqliteKvStoreFactory({ dataDir: dir }), cache);
  const store = await factory.open({ namespace: 'default', shard: 0n });
  try {
    await store.write([{ type: 'put', key: bytes(1), value: bytes(10) }]);
    assert.is(cache.entryCount, 0, 'a write alone caches nothing');
    assert.equal(await store.get(bytes(1)), bytes(10));
    assert.is(cache.entryCount, 1);
    await store.write([{ type: 'put', key: bytes(1), value: bytes(11) }]);
    assert.equal(await store.get(bytes(1)), bytes(11));
    await store.write([{ type: 'del', key: bytes(1) }]);
    assert.is(await store.get(bytes(1)), undefined);
    assert.is(cache.entryCount, 0);
    await store.write([{ type: 'put', key: bytes(2), value: bytes(20) }]);
    await store.get(bytes(2));
    await store.close();
    assert.is(cache.entryCount, 0, 'a closed store leaves nothing in the cache');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('read cache: the bytes it counts cover the heap and buffers its entries hold', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const dir = mkdtempSync(join(tmpdir(), 'oxia-kv-cache-'));
  const factory = new SqliteKvStoreFactory({ dataDir: dir });
  const keys = 20_000;
  const keyOf = (i: number) => Buffer.from(`/records/${i}`);
  const value = new Uint8Array(128).fill(7);
  try {
    const plain = await factory.open({ namespace: 'default', shard: 0n });
    for (let i = 0; i < keys; i += 1000) {
      await plain.write(Array.from({ length: 1000 }, (_, j) => ({ type: 'put' as const, key: keyOf(i + j), value })));
    }
    await plain.close();
    const cache = new KvReadCache(1 << 30);
    const store = await new CachedKvStoreFactory(factory, cache).open({ namespace: 'default', shard: 0n });
    try {
      const held = (): number => {
        gc();
        const m = process.memoryUsage();
        return m.heapUsed + m.arrayBuffers;
      };
      const before = held();
      for (let i = 0; i < keys; i++) store.getNow!(keyOf(i));
      const grown = held() - before;
      assert.is(cache.entryCount, keys);
      assert.ok(grown <= cache.sizeBytes, `${keys} entries hold ${grown} bytes of heap and buffers, the cache counts ${cache.sizeBytes}`);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('read cache: a read that overlaps a write does not cache the older value', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-kv-cache-'));
  const real = await new SqliteKvStoreFactory({ dataDir: dir }).open({ namespace: 'default', shard: 0n });
  // The real store, with reads that complete only when the test says (as LevelDB's may, after a later write).
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const slowReads: KvStore = {
    get: async (key) => {
      const value = await real.get(key);
      await gate;
      return value;
    },
    range: (r) => real.range(r),
    snapshot: () => real.snapshot(),
    write: (ops) => real.write(ops),
    sizeBytes: () => real.sizeBytes(),
    flush: () => real.flush(),
    close: () => real.close(),
  };
  const cache = new KvReadCache(1 << 20);
  const store = new CachedKvStore(slowReads, cache, '1/');
  try {
    await store.write([{ type: 'put', key: bytes(1), value: bytes(1) }]);
    const staleRead = store.get(bytes(1)); // reads the old value, completes after the write
    await store.write([{ type: 'put', key: bytes(1), value: bytes(2) }]);
    release();
    assert.equal(await staleRead, bytes(1));
    assert.equal(await store.get(bytes(1)), bytes(2), 'the newer value, not the raced read');
  } finally {
    release();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
