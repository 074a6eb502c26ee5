import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryKv, OverlayView, SortedByteMap } from '../../src/domain/database/index.js';
import type { KvOp, KvRange, KvReadView } from '../../src/domain/database/kv-view.js';
import { compareBytes } from '../../src/domain/keys/bytes.js';
import { collect, rng } from './db-harness.js';

const b = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
const s = (x: Uint8Array) => Buffer.from(x).toString('latin1');

async function dump(view: KvReadView, range: KvRange = {}): Promise<string[]> {
  return (await collect(view.range(range))).map((e) => `${s(e.key)}=${s(e.value)}`);
}

/** The obvious model: a JS Map, sorted on demand. */
class ModelKv {
  readonly map = new Map<string, string>();
  write(ops: readonly KvOp[]) {
    for (const op of ops) {
      if (op.type === 'put') this.map.set(s(op.key), s(op.value));
      else this.map.delete(s(op.key));
    }
  }
  range(r: KvRange): string[] {
    let keys = [...this.map.keys()].sort((x, y) => compareBytes(b(x), b(y)));
    if (r.gte) keys = keys.filter((k) => compareBytes(b(k), r.gte!) >= 0);
    if (r.lt) keys = keys.filter((k) => compareBytes(b(k), r.lt!) < 0);
    if (r.reverse) keys.reverse();
    if (r.limit !== undefined) keys = keys.slice(0, r.limit);
    return keys.map((k) => `${k}=${this.map.get(k)}`);
  }
}

function randomBytesKey(next: () => number): string {
  const len = 1 + Math.floor(next() * 3);
  let k = '';
  for (let i = 0; i < len; i++) k += String.fromCharCode([0, 1, 0x61, 0x62, 0x7f, 0x80, 0xfe, 0xff][Math.floor(next() * 8)]!);
  return k;
}

function randomRange(next: () => number): KvRange {
  const r: { gte?: Uint8Array; lt?: Uint8Array; reverse?: boolean; limit?: number } = {};
  if (next() < 0.6) r.gte = b(randomBytesKey(next));
  if (next() < 0.6) r.lt = b(randomBytesKey(next));
  if (next() < 0.5) r.reverse = true;
  if (next() < 0.3) r.limit = Math.floor(next() * 4);
  return r;
}

function randomOps(next: () => number, n: number): KvOp[] {
  return Array.from({ length: n }, (_, i) => {
    const key = b(randomBytesKey(next));
    return next() < 0.7 ? { type: 'put', key, value: b(`v${i}`) } : { type: 'del', key };
  });
}

test('SortedByteMap stays ordered through many inserts and deletes (chunk splits)', () => {
  const map = new SortedByteMap<number>();
  const next = rng(3);
  const model = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const k = Math.floor(next() * 5000).toString().padStart(5, '0');
    if (next() < 0.75) {
      assert.is(map.set(b(k), i), model.get(k), 'set returns the value it replaced');
      model.set(k, i);
    } else {
      assert.is(map.delete(b(k)), model.delete(k));
    }
  }
  assert.is(map.size, model.size);
  const keys = [...map.entries()].map(([k]) => s(k));
  assert.equal(keys, [...model.keys()].sort());
  assert.equal([...map.entries({ reverse: true })].map(([k]) => s(k)), [...keys].reverse());
  for (const k of ['00000', '02500', '04999', '99999']) assert.is(map.get(b(k)), model.get(k));
});

test('MemoryKv: get, ranges (bounds, reverse, limit) against a model', async () => {
  const next = rng(11);
  const kv = new MemoryKv();
  const model = new ModelKv();
  for (let round = 0; round < 200; round++) {
    const ops = randomOps(next, 5);
    kv.write(ops);
    model.write(ops);
    const r = randomRange(next);
    assert.equal(await dump(kv, r), model.range(r), JSON.stringify({ round, r }));
    const k = randomBytesKey(next);
    const v = await kv.get(b(k));
    assert.is(v === undefined ? undefined : s(v), model.map.get(k));
  }
});

test('MemoryKv copies what it stores', async () => {
  const kv = new MemoryKv();
  const key = b('k');
  const value = b('v');
  kv.write([{ type: 'put', key, value }]);
  key[0] = 0x7a;
  value[0] = 0x7a;
  assert.equal(await dump(kv), ['k=v']);
});

test('OverlayView reads its pending writes over the base (differential against a model)', async () => {
  const next = rng(23);
  for (let trial = 0; trial < 40; trial++) {
    const base = new MemoryKv();
    const model = new ModelKv();
    const baseOps = randomOps(next, 30);
    base.write(baseOps);
    model.write(baseOps);
    const baseBefore = await dump(base);
    const overlay = new OverlayView(base);
    for (let step = 0; step < 10; step++) {
      const ops = randomOps(next, 4);
      overlay.write(ops);
      model.write(ops);
      const r = randomRange(next);
      assert.equal(await dump(overlay, r), model.range(r), JSON.stringify({ trial, step, r }));
      const k = randomBytesKey(next);
      const v = await overlay.get(b(k));
      assert.is(v === undefined ? undefined : s(v), model.map.get(k));
    }
    assert.equal(await dump(base), baseBefore, 'the base is untouched until the pending ops are written');
    // Writing the pending ops to the base catches it up.
    base.write(overlay.pendingOps());
    assert.equal(await dump(base), model.range({}));
  }
});

test('OverlayView over OverlayView (request inside entry inside batch)', async () => {
  const base = new MemoryKv();
  base.write([
    { type: 'put', key: b('a'), value: b('1') },
    { type: 'put', key: b('b'), value: b('1') },
    { type: 'put', key: b('c'), value: b('1') },
  ]);
  const outer = new OverlayView(base);
  outer.write([{ type: 'del', key: b('b') }, { type: 'put', key: b('d'), value: b('2') }]);
  const inner = new OverlayView(outer);
  inner.write([{ type: 'put', key: b('b'), value: b('3') }, { type: 'del', key: b('a') }]);
  assert.equal(await dump(inner), ['b=3', 'c=1', 'd=2']);
  assert.equal(await dump(inner, { reverse: true, limit: 2 }), ['d=2', 'c=1']);
  assert.equal(await dump(outer), ['a=1', 'c=1', 'd=2'], 'the inner overlay does not leak until written');
  outer.write(inner.pendingOps());
  assert.equal(await dump(outer), ['b=3', 'c=1', 'd=2']);
});

test('a limited range over pending deletes still returns `limit` entries', async () => {
  const base = new MemoryKv();
  base.write(['1', '2', '3', '4', '5', '6'].map((k) => ({ type: 'put' as const, key: b(k), value: b('b') })));
  const overlay = new OverlayView(base);
  overlay.write([{ type: 'del', key: b('1') }, { type: 'del', key: b('2') }, { type: 'put', key: b('3'), value: b('o') }, { type: 'del', key: b('6') }]);
  assert.equal(await dump(overlay, { limit: 3 }), ['3=o', '4=b', '5=b']);
  assert.equal(await dump(overlay, { limit: 1, reverse: true }), ['5=b']);
  overlay.put(b('1'), b('again'));
  assert.equal(await dump(overlay, { limit: 2 }), ['1=again', '3=o']);
});

test('pendingOps are one op per key, in key order, last write winning', () => {
  const overlay = new OverlayView(new MemoryKv());
  overlay.write([
    { type: 'put', key: b('z'), value: b('1') },
    { type: 'put', key: b('a'), value: b('1') },
    { type: 'del', key: b('z') },
    { type: 'put', key: b('a'), value: b('2') },
  ]);
  assert.equal(
    overlay.pendingOps().map((op) => (op.type === 'put' ? `put ${s(op.key)}=${s(op.value)}` : `del ${s(op.key)}`)),
    ['put a=2', 'del z'],
  );
  assert.is(overlay.pendingCount, 2);
});

test('pendingPutKeys lists only this overlay\'s own puts in a range; clear forgets everything pending', async () => {
  const base = new MemoryKv();
  base.write([{ type: 'put', key: b('c'), value: b('base') }]);
  const overlay = new OverlayView(base);
  overlay.write([
    { type: 'put', key: b('a'), value: b('1') },
    { type: 'put', key: b('b'), value: b('1') },
    { type: 'del', key: b('c') },
    { type: 'put', key: b('d'), value: b('1') },
  ]);
  assert.equal(overlay.pendingPutKeys({ gte: b('b'), lt: b('e') }).map(s), ['b', 'd']);
  overlay.clear();
  assert.is(overlay.pendingCount, 0);
  assert.equal(await dump(overlay), ['c=base'], 'the base shows through again, its deletes forgotten too');
  assert.equal(await dump(overlay, { limit: 1 }), ['c=base']);
});

test('iteration sees writes made while it is suspended and does not repeat or skip', async () => {
  const kv = new MemoryKv();
  kv.write(['a', 'b', 'c', 'd'].map((k) => ({ type: 'put' as const, key: b(k), value: b('0') })));
  const overlay = new OverlayView(kv);
  overlay.put(b('bb'), b('1'));
  const seen: string[] = [];
  for await (const e of overlay.range({})) {
    seen.push(s(e.key));
    if (s(e.key) === 'b') {
      overlay.del(b('bb'));
      overlay.put(b('cc'), b('1'));
    }
  }
  assert.equal(seen, ['a', 'b', 'c', 'cc', 'd']);
});

test.run();
