/**
 * The CPU one replica spends applying committed puts (issue 8 §3, ADR 0016), without the
 * cluster around it: applyBatch over a real SQLite (or LevelDB) store wrapped as a storage node
 * wraps it (metered store, then the node's read cache), prefilled with the bench's 1000 keys,
 * then entries of 64 puts each (128-byte values, keys key-0..key-999, every put an overwrite),
 * one entry per applyBatch as a replica under the bench load applies them. Prints µs of this
 * process's CPU (user+system) per put. Not part of `npm test`.
 *
 *   node --import tsx tests/bench/apply-cpu.ts [--seconds 3] [--rounds 5] [--backend sqlite|level]
 *        [--entries-per-batch 1] [--ab <git ref>]
 *
 * --ab: the same measurement of <git ref> (its src/ exported into a temp directory under
 * tests/bench, removed at the end) and of this tree, in one process, alternating 100 ms slices so
 * that both see the same machine load; per round of --seconds, each side's µs per put, then
 * each side's median and the median of the rounds' ratios.
 * --root: the package root whose src/ is measured (default: this tree).
 */
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './median.js';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    backend: { type: 'string', default: 'sqlite' },
    'entries-per-batch': { type: 'string', default: '1' },
    ab: { type: 'string' },
    root: { type: 'string' },
  },
});
const here = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PUTS_PER_ENTRY = 64;
const KEYS = 1000;
const VALUE_BYTES = 128;
/** The other tree's copy of src/ in an A/B comparison (also in .gitignore). */
const AB_COPY_PREFIX = 'apply-cpu-ab-';
/** Milliseconds one side of an A/B comparison runs before the other's turn. */
const SLICE_MS = 100;

if (flags.ab !== undefined) await compare(flags.ab);
else await measure(flags.root ?? here);

/**
 * Measures this tree and `ref` in one process (each tree's modules loaded from its own files,
 * each with its own store), alternating short slices, so both see the same machine load.
 */
async function compare(ref: string): Promise<void> {
  // Inside this tree's tests/, so that tsx compiles it with this tree's tsconfig (decorators)
  // and its imports find this tree's node_modules. A run killed midway leaves its copy behind,
  // which typecheck would read: those go first.
  const benchDir = join(here, 'tests', 'bench');
  for (const stale of readdirSync(benchDir)) if (stale.startsWith(AB_COPY_PREFIX)) rmSync(join(benchDir, stale), { recursive: true, force: true });
  const other = mkdtempSync(join(benchDir, AB_COPY_PREFIX));
  try {
    execFileSync('sh', ['-c', `git -C ${JSON.stringify(here)} archive ${JSON.stringify(ref)} src | tar -x -C ${JSON.stringify(other)}`]);
    const sides = [
      { name: ref, bench: await setUp(other), cpu: 0, puts: 0, runs: [] as number[] },
      { name: 'this tree', bench: await setUp(here), cpu: 0, puts: 0, runs: [] as number[] },
    ];
    try {
      for (const side of sides) await side.bench.run(1000);
      const ratios: number[] = [];
      for (let r = 0; r < Number(flags.rounds); r++) {
        for (const side of sides) side.cpu = side.puts = 0;
        const until = performance.now() + Number(flags.seconds) * 1000;
        let turn = r;
        while (performance.now() < until) {
          const side = sides[turn++ % 2]!;
          const start = process.cpuUsage();
          side.puts += await side.bench.run(SLICE_MS);
          const used = process.cpuUsage(start);
          side.cpu += used.user + used.system;
        }
        for (const side of sides) side.runs.push(side.cpu / side.puts);
        ratios.push(sides[1]!.runs.at(-1)! / sides[0]!.runs.at(-1)!);
        console.log(`round ${r + 1}: ${sides.map((s) => `${s.name} ${s.runs.at(-1)!.toFixed(2)}`).join(', ')} µs/put`);
      }
      for (const s of sides) console.log(`${s.name}: median ${median(s.runs).toFixed(2)} µs/put (${Math.min(...s.runs).toFixed(2)}-${Math.max(...s.runs).toFixed(2)})`);
      console.log(`this tree / ${ref}: ${(median(sides[1]!.runs) / median(sides[0]!.runs)).toFixed(3)}, median of round ratios ${median(ratios).toFixed(3)}`);
    } finally {
      for (const side of sides) await side.bench.close();
    }
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
}

async function measure(root: string): Promise<void> {
  const bench = await setUp(root);
  try {
    await bench.run(1000);
    const results: number[] = [];
    for (let r = 0; r < Number(flags.rounds); r++) {
      const start = process.cpuUsage();
      const puts = await bench.run(Number(flags.seconds) * 1000);
      const used = process.cpuUsage(start);
      results.push((used.user + used.system) / puts);
    }
    console.log(`${flags.backend}: ${results.map((x) => x.toFixed(2)).join(' ')} µs/put; median ${median(results).toFixed(2)} µs/put`);
  } finally {
    await bench.close();
  }
}

interface Bench {
  /** Applies entries for `ms` milliseconds; returns the puts applied. */
  run(ms: number): Promise<number>;
  close(): Promise<void>;
}

/** A prefilled store of the package at `root` and the entries to apply to it. */
async function setUp(root: string): Promise<Bench> {
  const load = <T>(path: string): Promise<T> => import(pathToFileURL(join(root, 'src', path)).href) as Promise<T>;
  const { applyBatch } = await load<typeof import('../../src/application/shard/apply-batch.js')>('application/shard/apply-batch.ts');
  const { CachedKvStoreFactory } = await load<typeof import('../../src/adapters/kv-cache/cached-kv-store.js')>('adapters/kv-cache/cached-kv-store.ts');
  const { KvReadCache } = await load<typeof import('../../src/adapters/kv-cache/read-cache.js')>('adapters/kv-cache/read-cache.ts');
  const { MeteredKvStoreFactory } = await load<typeof import('../../src/adapters/metrics/metered-kv-store.js')>('adapters/metrics/metered-kv-store.ts');
  const { PromMetrics } = await load<typeof import('../../src/adapters/metrics/prom-metrics.js')>('adapters/metrics/prom-metrics.ts');
  const { SqliteKvStoreFactory } = await load<typeof import('../../src/adapters/kv-sqlite/sqlite-kv-store-factory.js')>('adapters/kv-sqlite/sqlite-kv-store-factory.ts');
  const { LevelKvStoreFactory } = await load<typeof import('../../src/adapters/kv-level/level-kv-store-factory.js')>('adapters/kv-level/level-kv-store-factory.ts');
  const { LogEntryValue } = await load<typeof import('../../src/domain/wire/storage.js')>('domain/wire/storage.ts');
  type DecodedEntry = import('../../src/application/shard/apply-batch.js').DecodedEntry;

  const dataDir = mkdtempSync(join(tmpdir(), 'apply-cpu-'));
  const options = { dataDir };
  const backend = flags.backend === 'level' ? new LevelKvStoreFactory(options) : new SqliteKvStoreFactory(options);
  // As kv-module.ts: metered backend behind the node's read cache (Oxia's default 100 MiB).
  const factory = new CachedKvStoreFactory(new MeteredKvStoreFactory(backend, new PromMetrics()), new KvReadCache(100 * 1024 * 1024));
  const kv = await factory.open({ namespace: 'default', shard: 0n });
  const config = { keySorting: 'hierarchical' as const, notificationsEnabled: true, shard: 0n };
  const value = randomFillSync(Buffer.alloc(VALUE_BYTES));
  let offset = 0n;
  let next = 0;
  const entry = (): DecodedEntry => {
    const puts = [];
    for (let i = 0; i < PUTS_PER_ENTRY; i++) {
      puts.push({ key: `key-${next}`, value, sequenceKeyDelta: [], secondaryIndexes: [] });
      next = (next + 1) % KEYS;
    }
    const decoded = { value: { $case: 'requests' as const, value: { writes: [{ puts, deletes: [], deleteRanges: [] }] } } };
    const bytes = LogEntryValue.encode(decoded).finish();
    return { entry: { term: 1n, offset: offset++, value: bytes, timestamp: 1_700_000_000_000n + offset }, value: decoded };
  };
  const perBatch = Number(flags['entries-per-batch']);
  const batch = (): DecodedEntry[] => Array.from({ length: perBatch }, entry);
  // Prefill: every key once.
  while (next !== 0 || offset === 0n) await applyBatch(kv, config, batch());
  return {
    async run(ms) {
      const until = performance.now() + ms;
      let puts = 0;
      while (performance.now() < until) {
        await applyBatch(kv, config, batch());
        puts += PUTS_PER_ENTRY * perBatch;
      }
      return puts;
    },
    async close() {
      await kv.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
