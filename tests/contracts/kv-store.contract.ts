// The behaviour every KvStore adapter must show, run against each backend by
// tests/adapters/kv-*.test.ts. Real files in a temp dir per test, removed afterwards.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KvStore, KvStoreFactory } from '../../src/application/ports/kv-store.js';
import type { ShardRef } from '../../src/application/ports/shard-ref.js';
import type { KvEntry, KvOp, KvRange } from '../../src/domain/database/kv-view.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';

const enc = new TextEncoder();
const bytes = (...b: number[]) => new Uint8Array(b);
const text = (s: string) => enc.encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const memcmp = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b);
/** Fixed-width big-endian numbers: bytewise order equals numeric order. */
const num = (n: number) => bytes((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const put = (key: Uint8Array, value: Uint8Array): KvOp => ({ type: 'put', key, value });
const del = (key: Uint8Array): KvOp => ({ type: 'del', key });

async function collectView(entries: AsyncIterable<KvEntry>): Promise<KvEntry[]> {
  const out: KvEntry[] = [];
  for await (const e of entries) out.push(e);
  return out;
}

async function collect(store: KvStore, range: KvRange): Promise<KvEntry[]> {
  const out: KvEntry[] = [];
  for await (const e of store.range(range)) out.push(e);
  return out;
}
const keysOf = async (store: KvStore, range: KvRange) => (await collect(store, range)).map((e) => hex(e.key));

async function rejectsWith(p: Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(check(e), `${what}: wrong error ${String(e)}`);
    return;
  }
  assert.unreachable(`${what}: expected a rejection`);
}

async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable) void _;
}

interface Ctx {
  dir: string;
  factory: KvStoreFactory;
  open: KvStore[];
}

const SHARD: ShardRef = { namespace: 'default', shard: 0n };
/** Well above any sensible page size (the default is 256), so scans cross page boundaries. */
const MANY = 1500;

/** `kind`: the backend the factory names (the suite's name unless the factory wraps another). */
export function kvStoreContract(name: string, makeFactory: (dir: string) => KvStoreFactory, kind = name): void {
  const test = suite<Ctx>(`KvStore contract: ${name}`, { dir: '', factory: undefined as unknown as KvStoreFactory, open: [] });

  test.before.each((ctx) => {
    ctx.dir = mkdtempSync(join(tmpdir(), `oxia-kv-${kind}-`));
    ctx.factory = makeFactory(ctx.dir);
    ctx.open = [];
  });
  test.after.each(async (ctx) => {
    for (const s of ctx.open) await s.close();
    rmSync(ctx.dir, { recursive: true, force: true });
  });

  /** Opens a store that after.each closes (closing twice is harmless by contract). */
  async function open(ctx: Ctx, shard: ShardRef = SHARD): Promise<KvStore> {
    const store = await ctx.factory.open(shard);
    ctx.open.push(store);
    return store;
  }

  test('kind names the backend', (ctx) => {
    assert.is(ctx.factory.kind, kind);
  });

  test('get / put / del', async (ctx) => {
    const s = await open(ctx);
    assert.is(await s.get(text('a')), undefined);
    await s.write([put(text('a'), text('1'))]);
    assert.equal(await s.get(text('a')), text('1'));
    await s.write([put(text('a'), text('2'))]);
    assert.equal(await s.get(text('a')), text('2'));
    await s.write([del(text('a'))]);
    assert.is(await s.get(text('a')), undefined);
    await s.write([del(text('never-there'))]);
    await s.write([]);
    assert.equal(await collect(s, {}), []);
  });

  test('getNow reads synchronously what get reads', async (ctx) => {
    const s = await open(ctx);
    const getNow = s.getNow;
    assert.type(getNow, 'function', 'both backends (and the read cache) read synchronously');
    if (getNow === undefined) return;
    assert.is(getNow(text('a')), undefined);
    await s.write([put(text('a'), text('1'))]);
    assert.equal(getNow(text('a')), text('1'));
    await s.write([put(text('a'), text('2'))]);
    assert.equal(getNow(text('a')), text('2'));
    assert.equal(await s.get(text('a')), text('2'));
    await s.write([del(text('a'))]);
    assert.is(getNow(text('a')), undefined);
    await s.close();
    assert.throws(() => getNow(text('a')), /closed/);
  });

  test('empty keys and values, and every byte value, round-trip', async (ctx) => {
    const s = await open(ctx);
    const all = new Uint8Array(256).map((_, i) => i);
    await s.write([put(bytes(), text('empty key')), put(text('e'), bytes()), put(all, all.slice().reverse())]);
    assert.equal(await s.get(bytes()), text('empty key'));
    assert.equal(await s.get(text('e')), bytes());
    assert.equal(await s.get(all), all.slice().reverse());
    // Values come back as plain Uint8Array, the same type from every backend.
    assert.is((await s.get(all))!.constructor, Uint8Array);
  });

  test('within one write a later op on the same key wins', async (ctx) => {
    const s = await open(ctx);
    await s.write([put(text('k'), text('1')), put(text('k'), text('2'))]);
    assert.equal(await s.get(text('k')), text('2'));
    await s.write([put(text('k'), text('3')), del(text('k'))]);
    assert.is(await s.get(text('k')), undefined);
    await s.write([del(text('k')), put(text('k'), text('4'))]);
    assert.equal(await s.get(text('k')), text('4'));
  });

  test('a long write of puts and deletes, keys repeated far apart, ends as applied one op at a time', async (ctx) => {
    const s = await open(ctx);
    // Longer than any statement a backend batches its puts into, with deletes breaking up runs.
    const ops: KvOp[] = [];
    const model = new Map<string, Uint8Array>();
    for (let i = 0; i < 400; i++) {
      const key = text(`m${(i * 37) % 90}`);
      if (i % 13 === 7) {
        ops.push(del(key));
        model.delete(hex(key));
      } else {
        const value = text(`v${i}`);
        ops.push(put(key, value));
        model.set(hex(key), value);
      }
    }
    await s.write(ops);
    const stored = await collect(s, {});
    assert.equal(new Map(stored.map((e) => [hex(e.key), e.value])), model);
  });

  test('writes issued without waiting apply in call order', async (ctx) => {
    const s = await open(ctx);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) writes.push(s.write([put(text('k'), num(i)), put(num(i), text('x'))]));
    await Promise.all(writes);
    assert.equal(await s.get(text('k')), num(49));
    assert.is((await collect(s, { lt: text('k') })).length, 50);
    // A big write then at once a small one on the same key: a backend that runs writes in
    // parallel (LevelDB on libuv's pool) lets the small one land first now and then,
    // most often when its memtable fills, so this writes enough to fill it a few times.
    const value = new Uint8Array(1024).fill(1);
    const misordered: number[] = [];
    for (let round = 0; round < 100; round++) {
      const big = Array.from({ length: 500 }, (_, i) => put(new Uint8Array([...num(round), ...num(i)]), value));
      const first = s.write([...big, put(text('last'), text('big'))]);
      const second = s.write([put(text('last'), text('small'))]);
      await Promise.all([first, second]);
      if (new TextDecoder().decode(await s.get(text('last'))) !== 'small') misordered.push(round);
    }
    assert.equal(misordered, [], 'rounds where the earlier write won');
  });

  test('a write that fails midway leaves nothing behind', async (ctx) => {
    const s = await open(ctx);
    await s.write([put(text('x'), text('kept'))]);
    const bogus = { type: 'bogus', key: text('z') } as unknown as KvOp;
    await rejectsWith(s.write([put(text('a'), text('1')), del(text('x')), put(text('b'), text('2')), bogus]), () => true, 'bad op');
    const noValue = { type: 'put', key: text('c') } as unknown as KvOp;
    await rejectsWith(s.write([put(text('a'), text('1')), del(text('x')), noValue]), () => true, 'missing value');
    assert.is(await s.get(text('a')), undefined);
    assert.is(await s.get(text('b')), undefined);
    assert.equal(await s.get(text('x')), text('kept'));
    assert.equal(await keysOf(s, {}), [hex(text('x'))]);
    // And the store still works afterwards.
    await s.write([put(text('a'), text('1'))]);
    assert.equal(await s.get(text('a')), text('1'));
  });

  test('a concurrent scan sees all of a write or none of it', async (ctx) => {
    const s = await open(ctx);
    for (let round = 0; round < 30; round++) {
      const prefix = num(round);
      const ops = Array.from({ length: 40 }, (_, i) => put(new Uint8Array([...prefix, i]), text('v')));
      const writing = s.write(ops);
      const seen = await collect(s, { gte: prefix, lt: num(round + 1) });
      await writing;
      assert.ok(seen.length === 0 || seen.length === 40, `round ${round}: saw ${seen.length} of 40`);
      assert.is((await collect(s, { gte: prefix, lt: num(round + 1) })).length, 40);
    }
  });

  test('keys are ordered bytewise, 0x00 and 0xff and prefixes included', async (ctx) => {
    const s = await open(ctx);
    const keys = [
      bytes(), bytes(0x00), bytes(0x00, 0x00), bytes(0x00, 0xff), bytes(0x01), bytes(0x7f), bytes(0x80),
      bytes(0xfe, 0xff), bytes(0xff), bytes(0xff, 0x00), bytes(0xff, 0xff), bytes(0xff, 0xff, 0xff),
      text('a'), text('a/'), text('a/b'), text('a\u0000'), text('ab'), text('b'), text('B'),
    ];
    // Shuffled deterministically: insertion order must not matter.
    const shuffled = keys.map((k, i) => ({ k, r: (i * 7919) % keys.length })).sort((x, y) => x.r - y.r).map((x) => x.k);
    await s.write(shuffled.map((k) => put(k, k)));
    const sorted = keys.slice().sort(memcmp).map(hex);
    assert.equal(await keysOf(s, {}), sorted);
    assert.equal(await keysOf(s, { reverse: true }), sorted.slice().reverse());
    for (const e of await collect(s, {})) assert.equal(e.value, e.key);
  });

  test('gte is inclusive, lt exclusive, either may be absent', async (ctx) => {
    const s = await open(ctx);
    await s.write(['a', 'b', 'ba', 'bb', 'c', 'd'].map((k) => put(text(k), text(k))));
    const keys = async (r: KvRange) => (await collect(s, r)).map((e) => new TextDecoder().decode(e.key));
    assert.equal(await keys({ gte: text('b'), lt: text('c') }), ['b', 'ba', 'bb']);
    assert.equal(await keys({ gte: text('b'), lt: text('bb') }), ['b', 'ba']);
    assert.equal(await keys({ gte: text('b\u0000'), lt: text('c\u0000') }), ['ba', 'bb', 'c']);
    assert.equal(await keys({ gte: text('bz') }), ['c', 'd']);
    assert.equal(await keys({ lt: text('b') }), ['a']);
    assert.equal(await keys({ gte: text('c'), lt: text('c') }), []);
    assert.equal(await keys({ gte: text('d'), lt: text('a') }), []);
    assert.equal(await keys({ gte: text('e') }), []);
    assert.equal(await keys({ lt: text('a') }), []);
    assert.equal(await keys({ gte: text('b'), lt: text('c'), reverse: true }), ['bb', 'ba', 'b']);
    assert.equal(await keys({ lt: text('ba'), reverse: true }), ['b', 'a']);
    assert.equal(await keys({ gte: text('c'), reverse: true }), ['d', 'c']);
  });

  test('limit caps the entries, from the end when reverse', async (ctx) => {
    const s = await open(ctx);
    await s.write(['a', 'b', 'c', 'd', 'e'].map((k) => put(text(k), text(k))));
    const keys = async (r: KvRange) => (await collect(s, r)).map((e) => new TextDecoder().decode(e.key));
    assert.equal(await keys({ limit: 0 }), []);
    assert.equal(await keys({ limit: 2 }), ['a', 'b']);
    assert.equal(await keys({ limit: 2, reverse: true }), ['e', 'd']);
    assert.equal(await keys({ gte: text('b'), lt: text('e'), limit: 2, reverse: true }), ['d', 'c']);
    assert.equal(await keys({ gte: text('b'), limit: 10 }), ['b', 'c', 'd', 'e']);
  });

  test(`scans cross page boundaries (${MANY} keys)`, async (ctx) => {
    const s = await open(ctx);
    await s.write(Array.from({ length: MANY }, (_, i) => put(num(i), num(i * 3))));
    const all = await collect(s, {});
    assert.is(all.length, MANY);
    all.forEach((e, i) => {
      assert.equal(e.key, num(i));
      assert.equal(e.value, num(i * 3));
    });
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => hex(num(from + i)));
    assert.equal(await keysOf(s, { reverse: true }), range(0, MANY).reverse());
    assert.equal(await keysOf(s, { gte: num(100), lt: num(1400) }), range(100, 1400));
    assert.equal(await keysOf(s, { gte: num(100), lt: num(1400), reverse: true }), range(100, 1400).reverse());
    assert.equal(await keysOf(s, { gte: num(10), limit: 1000 }), range(10, 1010));
    assert.equal(await keysOf(s, { lt: num(1490), limit: 1000, reverse: true }), range(490, 1490).reverse());
    assert.equal(await keysOf(s, { limit: MANY }), range(0, MANY));
  });

  test('a scan stopped early releases its resources', async (ctx) => {
    const s = await open(ctx);
    await s.write(Array.from({ length: MANY }, (_, i) => put(num(i), text('v'))));
    for (let i = 0; i < 20; i++) {
      let n = 0;
      for await (const _ of s.range({ reverse: i % 2 === 1 })) if (++n === 300) break;
      assert.is(n, 300);
    }
    await s.close();
    const again = await open(ctx);
    assert.is((await collect(again, {})).length, MANY);
  });

  test('a scan survives writes made while it runs (keys stay ordered, untouched keys all seen)', async (ctx) => {
    const s = await open(ctx);
    // Even numbers exist; the scan adds odd ones and deletes multiples of 10 as it goes.
    await s.write(Array.from({ length: MANY }, (_, i) => put(num(2 * i), text('v'))));
    for (const reverse of [false, true]) {
      const seen: number[] = [];
      let n = 0;
      for await (const e of s.range({ reverse })) {
        seen.push(Buffer.from(e.key).readUInt32BE(0));
        if (++n % 100 === 0) {
          const ops: KvOp[] = [];
          for (let k = 0; k < 2 * MANY; k += 1 + ((n / 100) % 7)) ops.push(k % 10 === 0 ? del(num(k)) : put(num(k | 1), text('new')));
          await s.write(ops);
        }
      }
      for (let i = 1; i < seen.length; i++) assert.ok(reverse ? seen[i]! < seen[i - 1]! : seen[i]! > seen[i - 1]!, 'out of order');
      const seenSet = new Set(seen);
      for (let k = 0; k < 2 * MANY; k += 2) if (k % 10 !== 0) assert.ok(seenSet.has(k), `untouched key ${k} missing`);
    }
  });

  test('data persists across close and reopen', async (ctx) => {
    const s = await open(ctx);
    await s.write(Array.from({ length: 500 }, (_, i) => put(num(i), num(i + 1))));
    await s.write([del(num(7))]);
    await s.close();
    const again = await open(ctx);
    assert.is(await again.get(num(7)), undefined);
    assert.equal(await again.get(num(499)), num(500));
    assert.is((await collect(again, {})).length, 499);
  });

  // Whether it reached the platter needs a power cut to see (the simulated disk's test does,
  // tests/application/term-durability.test.ts); here: a durable write is a write like the others,
  // between writes that are not, in call order, and the store goes on as before after it.
  test('a durable write applies like any other, in call order, and later writes go on', async (ctx) => {
    const s = await open(ctx);
    const first = s.write([put(text('a'), text('1')), put(text('b'), text('1'))]);
    const durable = s.write([put(text('a'), text('2')), del(text('b'))], { durable: true });
    const after = s.write([put(text('c'), text('3'))]);
    await Promise.all([first, durable, after]);
    assert.equal(await s.get(text('a')), text('2'));
    assert.is(await s.get(text('b')), undefined);
    await s.write([put(text('d'), text('4'))], { durable: false });
    await s.close();
    const again = await open(ctx);
    assert.equal(await again.get(text('c')), text('3'));
    assert.equal(await again.get(text('d')), text('4'));
  });

  test('after close every call fails with Closed; closing twice is harmless', async (ctx) => {
    const s = await open(ctx);
    await s.write(Array.from({ length: MANY }, (_, i) => put(num(i), text('v'))));
    const scan = s.range({})[Symbol.asyncIterator]();
    assert.ok(!(await scan.next()).done);
    await s.close();
    await s.close();
    const closed = (e: unknown) => isOxiaError(e, 'Closed');
    await rejectsWith(s.get(num(1)), closed, 'get');
    await rejectsWith(s.write([put(num(1), text('x'))]), closed, 'write');
    await rejectsWith(s.sizeBytes(), closed, 'sizeBytes');
    await rejectsWith(drain(s.range({})), closed, 'new scan');
    // A scan open during close ends with Closed (it may first hand out entries it already read).
    await rejectsWith(drain({ [Symbol.asyncIterator]: () => scan }), closed, 'open scan');
  });

  test('a shard opened twice is refused until closed', async (ctx) => {
    const s = await open(ctx);
    await rejectsWith(ctx.factory.open(SHARD), (e) => isOxiaError(e, 'ResourceConflict'), 'same factory');
    await rejectsWith(makeFactory(ctx.dir).open(SHARD), (e) => isOxiaError(e, 'ResourceConflict'), 'another factory');
    await rejectsWith(ctx.factory.delete(SHARD), (e) => isOxiaError(e, 'ResourceConflict'), 'delete while open');
    await s.write([put(text('a'), text('1'))]);
    await s.close();
    const again = await open(ctx);
    assert.equal(await again.get(text('a')), text('1'));
  });

  test('bad shard names are refused', async (ctx) => {
    const bad = (e: unknown) => isOxiaError(e, 'InvalidArgument');
    await rejectsWith(ctx.factory.open({ namespace: '../escape', shard: 0n }), bad, 'namespace with ..');
    await rejectsWith(ctx.factory.open({ namespace: 'a/b', shard: 0n }), bad, 'namespace with /');
    await rejectsWith(ctx.factory.open({ namespace: 'default', shard: -1n }), bad, 'negative shard');
    await rejectsWith(ctx.factory.delete({ namespace: '..', shard: 0n }), bad, 'delete with ..');
  });

  test('delete(shard) removes the data for good', async (ctx) => {
    const s = await open(ctx);
    await s.write([put(text('a'), text('1'))]);
    await s.close();
    await ctx.factory.delete(SHARD);
    await ctx.factory.delete(SHARD); // already gone: nothing to do
    await ctx.factory.delete({ namespace: 'never-opened', shard: 9n });
    const again = await open(ctx);
    assert.is(await again.get(text('a')), undefined);
    assert.equal(await collect(again, {}), []);
  });

  test('shards are independent, across shard ids and namespaces', async (ctx) => {
    const refs: ShardRef[] = [SHARD, { namespace: 'default', shard: 1n }, { namespace: 'other', shard: 0n }];
    const stores = await Promise.all(refs.map((r) => open(ctx, r)));
    await Promise.all(stores.map((s, i) => s.write([put(text('k'), num(i)), put(num(i), text('only here'))])));
    for (const [i, s] of stores.entries()) {
      assert.equal(await s.get(text('k')), num(i));
      assert.equal(await keysOf(s, {}), [hex(num(i)), hex(text('k'))]);
    }
    await stores[1]!.close();
    await ctx.factory.delete(refs[1]!);
    assert.equal(await stores[0]!.get(text('k')), num(0));
    assert.equal(await stores[2]!.get(text('k')), num(2));
  });

  test('snapshot: a frozen view taken while writes go on, each write whole or absent', async (ctx) => {
    const s = await open(ctx);
    // Every write sets all of 300 keys (several pages) to its generation: a view taken
    // between writes shows one generation everywhere, never a mix.
    const KEYS = 300;
    const generation = (g: number) => Array.from({ length: KEYS }, (_, i) => put(num(i), num(g)));
    await s.write(generation(0));
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await s.write(generation(written + 1));
        written++; // counted once the store has it
        await new Promise((r) => setImmediate(r));
      }
    })();
    try {
      for (let round = 0; round < 3; round++) {
        const writtenBefore = written;
        const snap = await s.snapshot();
        try {
          const seen = await collectView(snap.range({}));
          assert.is(seen.length, KEYS, 'every key is in the snapshot');
          const generations = new Set(seen.map((e) => hex(e.value)));
          assert.is(generations.size, 1, `one generation throughout, saw ${[...generations].join(', ')}`);
          const g = Buffer.from(seen[0]!.value).readUInt32BE(0);
          assert.ok(g >= writtenBefore, `not older than the writes done before it was taken (${g} < ${writtenBefore})`);
          // Writes after it are not seen through it.
          const target = written + 2;
          while (written < target) await new Promise((r) => setImmediate(r));
          assert.equal(await snap.get(num(0)), num(g), 'get answers as of the snapshot');
          assert.equal((await collectView(snap.range({ gte: num(10), lt: num(12) }))).map((e) => hex(e.value)), [hex(num(g)), hex(num(g))]);
          assert.ok(Buffer.from((await s.get(num(0)))!).readUInt32BE(0) > g, 'the store itself moved on');
        } finally {
          await snap.close();
        }
      }
    } finally {
      writing = false;
      await writer;
    }
    // Nothing of the snapshots stays behind: the shard's files are the store's alone.
    await s.close();
    await ctx.factory.delete(SHARD);
    assert.equal(readdirSync(ctx.dir).flatMap((ns) => readdirSync(join(ctx.dir, ns))), [], 'the shard directory is gone');
  });

  test('sizeBytes grows as data is written', async (ctx) => {
    const s = await open(ctx);
    const before = await s.sizeBytes();
    assert.is(typeof before, 'bigint');
    const value = new Uint8Array(1024).fill(0x5a).map((b, i) => b ^ (i * 31)); // not trivially compressible
    for (let batch = 0; batch < 4; batch++) {
      await s.write(Array.from({ length: 250 }, (_, i) => put(num(batch * 250 + i), value.map((b) => b ^ (batch * 250 + i)))));
    }
    const after = await s.sizeBytes();
    assert.ok(after > before + 500_000n, `size went from ${before} to ${after} after 1 MB of values`);
  });

  test.run();
}

/**
 * How a child process builds the backend: it imports `modulePath` and constructs
 * `new exportName({ dataDir })`, so the crash test exercises the real adapter.
 */
export interface FactoryModule {
  readonly modulePath: string;
  readonly exportName: string;
}

const CRASH_BATCH = 50;

/**
 * kill -9 while writing: the store must reopen uncorrupted, every batch must be there
 * whole or not at all, and every write acknowledged before the kill must be there
 * (a killed process loses nothing that write() resolved, only a power cut may).
 */
export function kvStoreCrashContract(name: string, source: FactoryModule, makeFactory: (dir: string) => KvStoreFactory): void {
  const test = suite(`KvStore kill -9: ${name}`);

  test('a store killed mid-write reopens with whole batches and every acknowledged write', async () => {
    const dir = mkdtempSync(join(tmpdir(), `oxia-kv-crash-${name}-`));
    const childCode = `
      const { ${source.exportName}: Factory } = await import(${JSON.stringify(pathToFileURL(source.modulePath).href)});
      const store = await new Factory({ dataDir: ${JSON.stringify(dir)} }).open({ namespace: 'default', shard: 0n });
      const num = (n) => new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
      const value = new Uint8Array(512).fill(7);
      for (let batch = 0; ; batch++) {
        const ops = [];
        for (let i = 0; i < ${CRASH_BATCH}; i++) ops.push({ type: 'put', key: new Uint8Array([...num(batch), ...num(i)]), value });
        ops.push({ type: 'put', key: new Uint8Array([0xff]), value: num(batch) });
        await store.write(ops);
        process.stdout.write('acked ' + batch + '\\n');
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', childCode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acked = -1;
    let stderr = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`child acked only ${acked} batches in time: ${stderr}`)), 120_000);
        let buffered = '';
        child.stdout.on('data', (d: Buffer) => {
          buffered += d.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const line of lines) acked = Number(line.split(' ')[1]);
          if (acked >= 300) {
            clearTimeout(deadline);
            // Killed at once, while it is (almost surely) in the middle of further writes.
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('exit', (code, signal) => {
          if (signal !== 'SIGKILL') {
            clearTimeout(deadline);
            reject(new Error(`child exited early (${code ?? signal}): ${stderr}`));
          }
        });
      });
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));

      const store = await makeFactory(dir).open({ namespace: 'default', shard: 0n });
      try {
        const last = await store.get(bytes(0xff));
        assert.ok(last !== undefined, 'the last batch marker is missing');
        const lastBatch = Buffer.from(last).readUInt32BE(0);
        assert.ok(lastBatch >= acked, `acknowledged batch ${acked} lost (store has up to ${lastBatch})`);
        const perBatch = new Map<number, number>();
        for await (const e of store.range({ lt: bytes(0xff) })) {
          const b = Buffer.from(e.key).readUInt32BE(0);
          perBatch.set(b, (perBatch.get(b) ?? 0) + 1);
        }
        for (let b = 0; b <= lastBatch; b++) assert.is(perBatch.get(b), CRASH_BATCH, `batch ${b} is not whole`);
        assert.is(perBatch.size, lastBatch + 1, 'batches beyond the marker');
      } finally {
        await store.close();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.run();
}
