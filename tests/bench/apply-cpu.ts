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
 * --ab: the same measurement of <git ref> (exported into a temp directory, sharing this tree's
 * node_modules), in child processes alternating with this tree's, round after round, so both
 * see the same machine load; prints each side's median and the median of back-to-back ratios.
 * --root (internal): the package root whose src/ is measured.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

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

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

if (flags.ab !== undefined) await compare(flags.ab);
else await measure(flags.root ?? here);

/** Alternates child processes measuring this tree and `ref`, one round each per turn. */
async function compare(ref: string): Promise<void> {
  const other = mkdtempSync(join(tmpdir(), 'apply-cpu-ab-'));
  try {
    execFileSync('sh', ['-c', `git -C ${JSON.stringify(here)} archive ${JSON.stringify(ref)} src | tar -x -C ${JSON.stringify(other)}`]);
    symlinkSync(join(here, 'node_modules'), join(other, 'node_modules'));
    execFileSync('cp', [join(here, 'package.json'), join(here, 'tsconfig.json'), other]);
    const sides = [
      { name: ref, root: other, runs: [] as number[] },
      { name: 'this tree', root: here, runs: [] as number[] },
    ];
    const ratios: number[] = [];
    const rounds = Number(flags.rounds);
    for (let r = 0; r < rounds; r++) {
      // Alternate which side goes first, so neither always follows the other.
      const order = r % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--root', side.root, '--rounds', '1', '--seconds', flags.seconds!, '--backend', flags.backend!, '--entries-per-batch', flags['entries-per-batch']!];
        const out = spawnSync(process.execPath, args, { cwd: side.root, encoding: 'utf8' });
        const m = /median ([\d.]+) µs/.exec(out.stdout);
        if (!m) throw new Error(`no result from ${side.name}: ${out.stdout}${out.stderr}`);
        side.runs.push(Number(m[1]));
      }
      ratios.push(sides[1]!.runs.at(-1)! / sides[0]!.runs.at(-1)!);
      console.log(`round ${r + 1}: ${sides.map((s) => `${s.name} ${s.runs.at(-1)!.toFixed(2)}`).join(', ')} µs/put`);
    }
    for (const s of sides) console.log(`${s.name}: median ${median(s.runs).toFixed(2)} µs/put (${Math.min(...s.runs).toFixed(2)}-${Math.max(...s.runs).toFixed(2)})`);
    console.log(`this tree / ${ref}: ${(median(sides[1]!.runs) / median(sides[0]!.runs)).toFixed(3)}, median of round ratios ${median(ratios).toFixed(3)}`);
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
}

async function measure(root: string): Promise<void> {
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
  try {
    // Prefill (every key once) and warm up (JIT, caches) before measuring.
    const warmUntil = performance.now() + 1000;
    while (next !== 0 || offset === 0n || performance.now() < warmUntil) await applyBatch(kv, config, batch());
    const results: number[] = [];
    for (let r = 0; r < Number(flags.rounds); r++) {
      const start = process.cpuUsage();
      const until = performance.now() + Number(flags.seconds) * 1000;
      let puts = 0;
      while (performance.now() < until) {
        await applyBatch(kv, config, batch());
        puts += PUTS_PER_ENTRY * perBatch;
      }
      const used = process.cpuUsage(start);
      results.push((used.user + used.system) / puts);
    }
    console.log(`${flags.backend}: ${results.map((x) => x.toFixed(2)).join(' ')} µs/put; median ${median(results).toFixed(2)} µs/put`);
  } finally {
    await kv.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
