// The write-behind store (ADR 0016, fourth pass): the KvStore contract holds through it (both
// backends, commits both by time and by size during the suite); writes wait in memory and
// reach the store together, in one write, while reads see them at once; flush, a durable
// write, the size limit and close commit what waits; a failed commit fails what comes after.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { KvStore, KvStoreFactory, KvWriteOptions } from '../../src/application/ports/kv-store.js';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';
import type { KvEntry, KvOp } from '../../src/domain/database/kv-view.js';
import { LevelKvStoreFactory } from '../../src/adapters/kv-level/level-kv-store-factory.js';
import { SqliteKvStoreFactory } from '../../src/adapters/kv-sqlite/sqlite-kv-store-factory.js';
import { WriteBehindKvStore, WriteBehindKvStoreFactory, type WriteBehindLimits } from '../../src/adapters/kv-write-behind/write-behind-kv-store.js';
import { kvStoreContract } from '../contracts/kv-store.contract.js';
import { parseExposition } from '../support/metrics-scrape.js';
import { waitFor } from '../support/wait.js';
import { withTempDir } from '../support/temp-dir.js';

const SHORT: WriteBehindLimits = { intervalMs: 5, maxKeys: 64, maxBytes: 64 * 1024 };
kvStoreContract('sqlite behind write-behind commits', (dataDir) => new WriteBehindKvStoreFactory(new SqliteKvStoreFactory({ dataDir }), SHORT), 'sqlite');
kvStoreContract('level behind write-behind commits', (dataDir) => new WriteBehindKvStoreFactory(new LevelKvStoreFactory({ dataDir }), SHORT), 'level');

const enc = new TextEncoder();
const text = (s: string) => enc.encode(s);
const put = (key: string, value: string): KvOp => ({ type: 'put', key: text(key), value: text(value) });
const del = (key: string): KvOp => ({ type: 'del', key: text(key) });
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());
const LONG: WriteBehindLimits = { intervalMs: 60_000, maxKeys: 1000, maxBytes: 1024 * 1024 };
const SHARD = { namespace: 'default', shard: 0n };

async function keys(view: { range(r: object): AsyncIterable<KvEntry> }): Promise<string[]> {
  const out: string[] = [];
  for await (const e of view.range({})) out.push(`${Buffer.from(e.key).toString()}=${Buffer.from(e.value).toString()}`);
  return out;
}

/** A real SQLite store whose writes are recorded, and can be held back or failed. */
async function recordingStore(dir: string) {
  const real = await new SqliteKvStoreFactory({ dataDir: dir }).open(SHARD);
  const writes: { ops: KvOp[]; durable: boolean }[] = [];
  let gate: Promise<void> | undefined;
  let failWith: Error | undefined;
  const store: KvStore = {
    get: (k) => real.get(k),
    getNow: real.getNow,
    range: (r) => real.range(r),
    snapshot: () => real.snapshot(),
    flush: () => real.flush(),
    sizeBytes: () => real.sizeBytes(),
    close: () => real.close(),
    write: async (ops: readonly KvOp[], options?: KvWriteOptions) => {
      if (gate) await gate;
      if (failWith) throw failWith;
      writes.push({ ops: [...ops], durable: options?.durable === true });
      await real.write(ops, options);
    },
  };
  return {
    store,
    real,
    writes,
    hold(): () => void {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
    failNext(error: Error): void {
      failWith = error;
    },
  };
}

test(
  'writes wait in memory, reads see them at once, and they reach the store as one write once the interval is over',
  () => withTempDir('write-behind', async (dir) => {
    const r = await recordingStore(dir);
    const wb = new WriteBehindKvStore(r.store, { ...LONG, intervalMs: 50 });
    await wb.write([put('b', '1'), put('a', '1')]);
    await wb.write([put('b', '2'), del('a'), put('c', '1')]);
    assert.is(r.writes.length, 0, 'nothing written to the store yet');
    assert.is(str(await r.real.get(text('b'))), undefined);
    assert.is(str(await wb.get(text('b'))), '2');
    assert.is(str(wb.getNow!(text('a'))), undefined);
    assert.equal(await keys(wb), ['b=2', 'c=1']);
    await waitFor(() => r.writes.length > 0, 'the commit after the interval');
    assert.equal(r.writes.map((w) => w.ops.map((op) => `${op.type}:${Buffer.from(op.key).toString()}`)), [['del:a', 'put:b', 'put:c']], 'one write: the union, in key order, later ops winning');
    assert.equal(await keys(r.real), ['b=2', 'c=1']);
    await wb.close();
  }),
);

test(
  'flush commits what waits, and ends even while writes go on',
  () => withTempDir('write-behind', async (dir) => {
    const r = await recordingStore(dir);
    const wb = new WriteBehindKvStore(r.store, LONG);
    await wb.write([put('k0', 'v')]);
    let writing = true;
    const writer = (async () => {
      for (let i = 1; writing; i++) {
        await wb.write([put(`k${i}`, 'v')]);
        await new Promise((res) => setImmediate(res));
      }
    })();
    await wb.flush();
    assert.is(str(await r.real.get(text('k0'))), 'v', 'the write before flush() is in the store');
    writing = false;
    await writer;
    await wb.close();
  }),
);

test(
  'a write that reaches the size limit commits before it resolves',
  () => withTempDir('write-behind', async (dir) => {
    const r = await recordingStore(dir);
    const wb = new WriteBehindKvStore(r.store, { ...LONG, maxKeys: 3 });
    await wb.write([put('a', '1'), put('b', '1')]);
    assert.is(r.writes.length, 0);
    await wb.write([put('c', '1')]);
    assert.is(r.writes.length, 1, 'committed at the third key');
    const bytes = new WriteBehindKvStore(r.store, { ...LONG, maxBytes: 100 });
    await bytes.write([{ type: 'put', key: text('big'), value: new Uint8Array(100) }]);
    assert.is(r.writes.length, 2, 'committed at the byte limit');
    await wb.close();
  }),
);

test(
  'a durable write goes after the writes that wait, and durable',
  () => withTempDir('write-behind', async (dir) => {
    const r = await recordingStore(dir);
    const wb = new WriteBehindKvStore(r.store, LONG);
    await wb.write([put('a', '1')]);
    await wb.write([put('term', '7')], { durable: true });
    assert.equal(
      r.writes.map((w) => [w.ops.map((op) => Buffer.from(op.key).toString()).join(','), w.durable]),
      [
        ['a', false],
        ['term', true],
      ],
    );
    await wb.close();
  }),
);

test(
  'while a commit runs, reads see its writes and new writes wait in a layer above it',
  () => withTempDir('write-behind', async (dir) => {
    const r = await recordingStore(dir);
    const wb = new WriteBehindKvStore(r.store, LONG);
    await wb.write([put('a', '1'), put('b', '1')]);
    const release = r.hold();
    const flushing = wb.flush();
    await wb.write([put('b', '2'), del('a'), put('c', '1')]);
    assert.is(str(wb.getNow!(text('a'))), undefined);
    assert.is(str(await wb.get(text('b'))), '2');
    assert.equal(await keys(wb), ['b=2', 'c=1']);
    release();
    await flushing;
    assert.equal(await keys(r.real), ['a=1', 'b=1'], 'the first commit holds only the writes made before it');
    assert.equal(await keys(wb), ['b=2', 'c=1']);
    await wb.flush();
    assert.equal(await keys(r.real), ['b=2', 'c=1']);
    await wb.close();
  }),
);

test(
  'a bad op fails its own write and stages nothing',
  () => withTempDir('write-behind', async (dir) => {
    const r = await recordingStore(dir);
    const wb = new WriteBehindKvStore(r.store, LONG);
    const bogus = { type: 'bogus', key: text('z') } as unknown as KvOp;
    try {
      await wb.write([put('a', '1'), bogus]);
      assert.unreachable('accepted a bogus op');
    } catch (e) {
      assert.match(String(e), /not a store op: type bogus/);
    }
    assert.is(await wb.get(text('a')), undefined);
    await wb.close();
    assert.is(r.writes.length, 0);
  }),
);

test(
  'a failed commit fails every later write and flush with its error; reads still see the data; close closes the store',
  () => withTempDir('write-behind', async (dir) => {
    const r = await recordingStore(dir);
    const wb = new WriteBehindKvStore(r.store, { ...LONG, intervalMs: 10 });
    const error = new Error('disk on fire');
    r.failNext(error);
    await wb.write([put('a', '1')]);
    await waitFor(async () => {
      try {
        await wb.write([put('b', '1')]);
        return false;
      } catch (e) {
        return e === error;
      }
    }, 'a write failing with the commit error');
    assert.is(str(await wb.get(text('a'))), '1');
    try {
      await wb.flush();
      assert.unreachable('flush after a failed commit');
    } catch (e) {
      assert.is(e, error);
    }
    await wb.close();
    try {
      await r.real.get(text('a'));
      assert.unreachable('the store was left open');
    } catch (e) {
      assert.match(String(e), /closed/i);
    }
  }),
);

test(
  'reads made while close commits the last writes still see them',
  () => withTempDir('write-behind', async (dir) => {
    const r = await recordingStore(dir);
    const wb = new WriteBehindKvStore(r.store, LONG);
    await wb.write([put('a', '1')]);
    const release = r.hold();
    const closing = wb.close();
    assert.is(str(await wb.get(text('a'))), '1');
    assert.is(str(wb.getNow!(text('a'))), '1');
    assert.equal(await keys(wb), ['a=1']);
    release();
    await closing;
  }),
);

test(
  'close commits what waits: the store reopened holds it',
  () => withTempDir('write-behind', async (dir) => {
    for (const factory of [new SqliteKvStoreFactory({ dataDir: dir }), new LevelKvStoreFactory({ dataDir: join(dir, 'level') })]) {
      const wb = new WriteBehindKvStoreFactory(factory, LONG);
      const s = await wb.open(SHARD);
      await s.write([put('a', '1'), put('b', '2')]);
      await s.close();
      const reopened = await factory.open(SHARD);
      assert.equal(await keys(reopened), ['a=1', 'b=2'], factory.kind);
      await reopened.close();
    }
  }),
);

test(
  "each open store's backlog is exported per shard at scrape time: what waits, what is being committed, a failed commit's writes, nothing once closed",
  () => withTempDir('write-behind', async (dir) => {
    const r = await recordingStore(dir);
    const metrics = new PromMetrics();
    const backend: KvStoreFactory = { kind: 'sqlite', open: async () => r.store, delete: async () => undefined };
    const wb = await new WriteBehindKvStoreFactory(backend, LONG, metrics).open(SHARD);
    const labels = { oxia_namespace: 'default', shard: '0' };
    const backlog = async () => {
      const m = parseExposition((await metrics.exposition()).body);
      const value = (name: string) => m.value(name, labels);
      return {
        keys: value('oxia_server_kv_write_behind_pending_keys'),
        bytes: value('oxia_server_kv_write_behind_pending_bytes'),
        age: value('oxia_server_kv_write_behind_oldest_pending_milliseconds'),
      };
    };
    assert.equal(await backlog(), { keys: 0, bytes: 0, age: 0 }, 'an idle store');
    await wb.write([put('a', '12'), put('b', '1')]);
    await wb.write([put('a', '3')]);
    const waiting = await backlog();
    assert.equal([waiting.keys, waiting.bytes], [2, 3 + 2 + 2], 'two keys waiting; the bytes of all three writes');
    await waitFor(async () => ((await backlog()).age ?? 0) >= 5, 'the oldest write ages');

    const release = r.hold();
    const flushed = wb.flush();
    await wb.write([put('c', '1')]);
    assert.equal((await backlog()).keys, 3, 'two keys being committed, one waiting behind them');
    release();
    await flushed;
    assert.equal((await backlog()).keys, 1);
    await wb.flush();
    assert.equal(await backlog(), { keys: 0, bytes: 0, age: 0 }, 'all in the store');

    r.failNext(new Error('disk gone'));
    await wb.write([put('d', '1')]);
    await wb.flush().catch(() => undefined);
    assert.equal((await backlog()).keys, 1, "a failed commit's write is still not stored");
    await wb.close().catch(() => undefined);
    assert.equal(await backlog(), { keys: undefined, bytes: undefined, age: undefined }, "a closed store's series are gone");
  }),
);

test.run();
