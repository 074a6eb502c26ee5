// A delete range and a session end over many records, applied by a replica's batch writer
// (applyBatch) to real SQLite and LevelDB stores: written in chunks, they give the store the
// same content as the entries applied whole in memory; readers meanwhile (through the read
// cache) see each key as before or after; and the process killed at any moment and restarted
// ends in the same content. apply-memory.test.ts bounds the heap.
import { readIntegrity, scanDigest } from '../../src/domain/integrity/index.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { KvStore } from '../../src/application/ports/kv-store.js';
import { applyBatch, type DecodedEntry } from '../../src/application/shard/apply-batch.js';
import { MemoryKv, applyEntry, readApplyProgress, readCommitState } from '../../src/domain/database/index.js';
import { type StoreDump, assertEachKeyInOneOf, assertStoreConsistent, dumpStore } from '../support/store-checks.js';
import { type Backend, CONFIG, deleteBatch, openStore, populationEntries, populationSize, recordKey } from './fixtures/range-workload.js';
import { withTempDir } from '../support/temp-dir.js';

const CHILD = fileURLToPath(new URL('./fixtures/apply-child.ts', import.meta.url));
const BACKENDS: Backend[] = ['sqlite', 'level'];

async function applyInBatches(store: KvStore, entries: Iterable<DecodedEntry>, chunkKeys?: number): Promise<void> {
  let batch: DecodedEntry[] = [];
  for (const e of entries) {
    batch.push(e);
    if (batch.length === 16) {
      await applyBatch(store, CONFIG, batch, chunkKeys);
      batch = [];
    }
  }
  if (batch.length > 0) await applyBatch(store, CONFIG, batch, chunkKeys);
}

/** The store after the population, then after each entry of the delete batch, applied whole in memory. */
async function referenceStates(records: number): Promise<StoreDump[]> {
  const kv = new MemoryKv();
  const apply = async (e: DecodedEntry) => {
    const applied = await applyEntry(kv, { offset: e.entry.offset, term: e.entry.term, timestampMs: e.entry.timestamp, value: e.value }, CONFIG);
    kv.write(applied.ops);
  };
  for (const e of populationEntries(records)) await apply(e);
  const states = [await dumpStore(kv)];
  for (const e of deleteBatch(populationSize(records))) {
    await apply(e);
    states.push(await dumpStore(kv));
  }
  return states;
}

for (const backend of BACKENDS) {
  test(`${backend}: chunked apply = whole apply; readers through the cache see each key before or after, and no deleted key afterwards`, async () => {
    await withTempDir('apply-chunks', async (dir) => {
      const records = 3000;
      const states = await referenceStates(records);
      const store = await openStore(backend, dir, 64 * 1024 * 1024);
      try {
        await applyInBatches(store, populationEntries(records));
        // Every record read once: the cache holds them all when the range starts.
        for (let i = 0; i < records; i++) assert.ok(await store.get(Buffer.from(encodedRecordKey(i))), `record ${i} present`);

        let applying = true;
        let readsDuring = 0;
        const reader = (async () => {
          for (let n = 0; applying; n++) {
            const i = (n * 7919) % records;
            const hex = Buffer.from(encodedRecordKey(i)).toString('hex');
            const got = store.getNow!(encodedRecordKey(i));
            const v = got === undefined ? undefined : Buffer.from(got).toString('hex');
            assert.ok(states.some((s) => s.get(hex) === v), `record ${i} read during the apply as in one of the states entries leave`);
            readsDuring++;
            await new Promise((r) => setImmediate(r));
          }
        })();
        let writes = 0;
        const counted: KvStore = {
          get: (key) => store.get(key),
          getNow: store.getNow,
          range: (range) => store.range(range),
          snapshot: () => store.snapshot(),
          write: (ops) => (writes++, store.write(ops)),
          sizeBytes: () => store.sizeBytes(),
    flush: () => store.flush(),
          close: () => store.close(),
        };
        await applyBatch(counted, CONFIG, deleteBatch(populationSize(records)), 64);
        applying = false;
        await reader;
        assert.ok(writes > 10, `the batch went to the store in chunks (${writes} writes)`);
        assert.ok(readsDuring > 10, `reads happened while it applied (${readsDuring})`);

        assert.equal(await dumpStore(store), states[states.length - 1], 'the store holds what the entries applied whole give');
        for (let i = 0; i < records; i++) {
          const expected = i === 5 ? 'present' : 'absent';
          assert.is((await store.get(Buffer.from(encodedRecordKey(i)))) === undefined ? 'absent' : 'present', expected, `record ${i} through the cache`);
          assert.is(store.getNow!(encodedRecordKey(i)) === undefined ? 'absent' : 'present', expected);
        }
      } finally {
        await store.close();
      }
    });
  });

  test(`${backend}: killed (SIGKILL) while applying the range in chunks, again and again, it ends as applied whole`, async () => {
    await withTempDir('apply-chunks', async (dir) => {
      const records = 10_000;
      const chunkKeys = 256;
      const states = await referenceStates(records);
      const first = populationSize(records);
      const store = await openStore(backend, dir);
      try {
        await applyInBatches(store, populationEntries(records));
      } finally {
        await store.close();
      }
      let kills = 0;
      let sawProgress = false;
      for (let run = 0; ; run++) {
        assert.ok(run < 60, 'the apply finishes');
        // Killed after a varying number of store writes: between chunks, or in the middle of one.
        const killAfter = 1 + ((run * 5) % 9);
        const outcome = await runChild(['apply', backend, dir, String(records), String(chunkKeys)], killAfter);
        const reopened = await openStore(backend, dir);
        try {
          const { commitOffset } = await readCommitState(reopened);
          const at = Number(commitOffset - first + 1n);
          assert.ok(at >= 0 && at < states.length, `commit offset ${commitOffset} within the batch`);
          const progress = await readApplyProgress(reopened);
          if (progress) {
            sawProgress = true;
            assert.is(progress.offset, commitOffset + 1n, 'the progress record is for the next entry');
          }
          const label = `run ${run} (${outcome}), entry ${commitOffset + 1n}`;
          const next = states[Math.min(at + 1, states.length - 1)]!;
          assertEachKeyInOneOf(await dumpStore(reopened), [states[at]!, next], CONFIG, label);
          await assertStoreConsistent(reopened, CONFIG, label);
          const integrity = await readIntegrity(reopened);
          assert.ok(integrity, `${label}: the store holds its integrity record`);
          assert.is(integrity.digest, await scanDigest(reopened), `${label}: the stored digest is the digest of what the store holds`);
          assert.is(integrity.offset, commitOffset, `${label}: the integrity record is of the last entry applied whole`);
          if (outcome === 'done') {
            assert.equal(await dumpStore(reopened), states[states.length - 1], 'the store holds what the entries applied whole give');
            break;
          }
        } finally {
          await reopened.close();
        }
        kills++;
      }
      assert.ok(kills >= 3, `killed several times (${kills})`);
      assert.ok(sawProgress, 'a kill left an entry half-applied, with its progress record');
    });
  });
}

const encoder = new TextEncoder();
/** A record's key in hierarchical encoding: depth 2 as two bytes, then the key with '/' as 0xff. */
function encodedRecordKey(i: number): Uint8Array {
  const body = encoder.encode(recordKey(i)).map((b) => (b === 0x2f ? 0xff : b));
  return Uint8Array.of(0, 2, ...body);
}

/** Runs the child until it prints `done` or its `killAfter`-th write, when it is killed at once. */
async function runChild(args: string[], killAfter: number): Promise<'done' | 'killed'> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    return await new Promise<'done' | 'killed'>((resolve, reject) => {
      let out = '';
      let err = '';
      let writes = 0;
      const deadline = setTimeout(() => reject(new Error(`the child did not finish or write in time: ${err}`)), 120_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n');
        out = lines.pop()!;
        for (const line of lines) {
          if (line === 'done') {
            clearTimeout(deadline);
            resolve('done');
          } else if (line.startsWith('write ') && ++writes === killAfter) {
            child.kill('SIGKILL');
          }
        }
      });
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code, signal) => {
        clearTimeout(deadline);
        if (signal === 'SIGKILL') resolve('killed');
        else if (code !== 0) reject(new Error(`the child failed (${code}): ${err}`));
        else resolve('done');
      });
    });
  } finally {
    await stopped(child);
  }
}

async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

test.run();
