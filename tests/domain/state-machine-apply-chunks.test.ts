// Delete ranges and session ends that remove more than a chunk: their removals reach the
// store in chunks before the entry ends. Checked against the same entries applied whole:
// the same store, notifications and version ids; every store state a crash can leave
// shows each key as before or after the entry; and a crash at any chunk, then a resume
// from the progress record (crashing again while resuming too), ends in the same store.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AppliedEntry, DatabaseConfig, EntryToApply } from '../../src/domain/database/api.js';
import {
  MemoryKv,
  OverlayView,
  applyEntry,
  readApplyProgress,
  readCommitState,
  sessionDeleteRequest,
  sessionPutRequest,
  validateWriteRequest,
  DEFAULT_REQUEST_LIMITS,
  type ApplyProgress,
} from '../../src/domain/database/index.js';
import type { KvOp } from '../../src/domain/database/kv-view.js';
import { NotificationBatch, NotificationType, WriteRequest } from '../../src/domain/wire/client.js';
import type { LogEntryValue } from '../../src/domain/wire/storage.js';
import { type StoreDump, assertEachKeyInOneOf, assertStoreConsistent, dumpStore } from '../support/store-checks.js';
import { collect, del, put, requests } from './db-harness.js';

const CHUNK_KEYS = 16;

class Crash extends Error {}

function copyOf(entries: ReadonlyArray<{ key: Uint8Array; value: Uint8Array }>): MemoryKv {
  const out = new MemoryKv();
  out.write(entries.map((e) => ({ type: 'put', key: e.key, value: e.value })));
  return out;
}

function entriesOf(values: LogEntryValue[], firstOffset: bigint): EntryToApply[] {
  return values.map((value, i) => ({ offset: firstOffset + BigInt(i), term: 1n, timestampMs: 500n + BigInt(i), value }));
}

/**
 * Applies entries as a replica's batch does (src/application/shard/apply-batch.ts): one
 * overlay for the batch, chunks written after what the batch holds, the rest at the end.
 * `crashAfter`: the chunk write that fails (nothing of it reaches the store), counting from 1.
 */
async function applyBatch(
  kv: MemoryKv,
  config: DatabaseConfig,
  entries: readonly EntryToApply[],
  options: { chunked: boolean; crashAfter?: number; onChunk?: () => Promise<void> },
): Promise<{ applied: AppliedEntry[]; chunks: number }> {
  const overlay = new OverlayView(kv);
  let chunks = 0;
  const spill = async (ops: KvOp[]): Promise<void> => {
    if (options.crashAfter !== undefined && chunks + 1 >= options.crashAfter) throw new Crash('crash');
    chunks++;
    kv.write(overlay.pendingOps().concat(ops));
    overlay.clear();
    await options.onChunk?.();
  };
  let resume: ApplyProgress | undefined = await readApplyProgress(kv);
  const applied: AppliedEntry[] = [];
  for (const entry of entries) {
    if (resume) assert.is(resume.offset, entry.offset, 'a progress record is for the next entry');
    const a = await applyEntry(overlay, entry, config, options.chunked ? { spill, resume, chunkKeys: CHUNK_KEYS } : { resume });
    resume = undefined;
    overlay.write(a.ops);
    applied.push(a);
  }
  kv.write(overlay.pendingOps());
  return { applied, chunks };
}

/** The entries from the one after the store's commit offset on: what a restarted replica applies. */
async function unapplied(kv: MemoryKv, entries: readonly EntryToApply[]): Promise<EntryToApply[]> {
  const { commitOffset } = await readCommitState(kv);
  return entries.filter((e) => e.offset > commitOffset);
}

interface Scenario {
  readonly name: string;
  readonly config: DatabaseConfig;
  /** Entries applied (whole) before the batch under test. */
  readonly setup: LogEntryValue[];
  /** The batch under test. */
  readonly batch: LogEntryValue[];
  /**
   * Keys a reader may see in a state that is neither before nor after their entry: only in
   * entries of several WriteRequests (which this implementation's leaders never write), where a
   * later request writes a key an earlier one's chunked range already removed.
   */
  readonly inBetween?: readonly string[];
}

/** Runs a scenario whole, then chunked, then crashed at every chunk and resumed. */
async function check(s: Scenario): Promise<void> {
  const pre = new MemoryKv();
  const setupEntries = entriesOf(s.setup, 0n);
  for (const e of setupEntries) {
    const a = await applyEntry(pre, e, s.config);
    pre.write(a.ops);
  }
  const preEntries = await collect(pre.range({}));
  const batch = entriesOf(s.batch, BigInt(setupEntries.length));

  // The states after each entry of the batch, applied whole one at a time: the only states a key may show.
  const states: StoreDump[] = [await dumpStore(pre)];
  const wholeKv = copyOf(preEntries);
  const whole: AppliedEntry[] = [];
  for (const e of batch) {
    const a = await applyEntry(wholeKv, e, s.config);
    wholeKv.write(a.ops);
    whole.push(a);
    states.push(await dumpStore(wholeKv));
  }
  const expected = states[states.length - 1]!;

  const chunkedKv = copyOf(preEntries);
  const chunked = await applyBatch(chunkedKv, s.config, batch, { chunked: true });
  assert.ok(chunked.chunks >= 3, `${s.name}: the batch is written in several chunks (${chunked.chunks})`);
  assert.equal(await dumpStore(chunkedKv), expected, `${s.name}: chunked = whole`);
  assert.equal(chunked.applied.map((a) => a.responses), whole.map((a) => a.responses), `${s.name}: same responses`);
  assert.equal(chunked.applied.map((a) => notes(a)), whole.map((a) => notes(a)), `${s.name}: same notifications`);
  assert.equal(chunked.applied.map((a) => a.sessionsRemoved), whole.map((a) => a.sessionsRemoved));

  const firstOffset = BigInt(setupEntries.length);
  for (let crashAt = 1; crashAt <= chunked.chunks; crashAt++) {
    const kv = copyOf(preEntries);
    const label = `${s.name}, crash at chunk ${crashAt}`;
    // Every chunk written before the crash leaves a state readers may see: check them all.
    const onChunk = async () => {
      const { commitOffset } = await readCommitState(kv);
      const at = Number(commitOffset - firstOffset + 1n);
      const entryLabel = `${label}, entry ${commitOffset + 1n}`;
      assertEachKeyInOneOf(await dumpStore(kv), [states[at]!, states[at + 1]!], s.config, entryLabel, s.inBetween);
      await assertStoreConsistent(kv, s.config, entryLabel);
    };
    try {
      await applyBatch(kv, s.config, batch, { chunked: true, crashAfter: crashAt, onChunk });
      assert.unreachable(`${label}: the crash happens`);
    } catch (e) {
      if (!(e instanceof Crash)) throw e;
    }
    const { commitOffset } = await readCommitState(kv);
    const progress = await readApplyProgress(kv);
    if (progress) assert.is(progress.offset, commitOffset + 1n, `${label}: the progress record is for the next entry`);
    // Crash again while resuming, once, at its second chunk when it has one.
    try {
      await applyBatch(kv, s.config, await unapplied(kv, batch), { chunked: true, crashAfter: 2, onChunk });
    } catch (e) {
      if (!(e instanceof Crash)) throw e;
    }
    const resumed = await applyBatch(kv, s.config, await unapplied(kv, batch), { chunked: true, onChunk });
    assert.equal(await dumpStore(kv), expected, `${label}: resumed = whole`);
    assert.is(await readApplyProgress(kv), undefined, `${label}: no progress record left`);
    const n = resumed.applied.length;
    assert.equal(resumed.applied.map((a) => notes(a)), whole.slice(whole.length - n).map((a) => notes(a)), `${label}: same notifications`);
  }
}

const notes = (a: AppliedEntry) => (a.notifications ? Buffer.from(NotificationBatch.encode(a.notifications).finish()).toString('hex') : undefined);

const HIER: DatabaseConfig = { keySorting: 'hierarchical', notificationsEnabled: true, shard: 3n };
const NATURAL: DatabaseConfig = { keySorting: 'natural', notificationsEnabled: true, shard: 3n };

function sessionOpen(id: bigint): LogEntryValue {
  return requests({ puts: [sessionPutRequest(id, { timeoutMs: 5_000, identity: 'c', owner: '' })] });
}

/** `n` records under /r/ (some indexed, some ephemeral of session 0), and a few around them. */
function populated(n: number): LogEntryValue[] {
  const values: LogEntryValue[] = [sessionOpen(0n)];
  const puts = [];
  for (let i = 0; i < n; i++) {
    const key = `/r/${String(i).padStart(4, '0')}`;
    const options = {
      ...(i % 3 === 0 ? { secondaryIndexes: { byNumber: String(i % 10), byName: `n${i}` } } : {}),
      ...(i % 5 === 0 ? { sessionId: 0n } : {}),
    };
    puts.push(put(key, `v${i}`, options));
  }
  values.push(requests({ puts }));
  values.push(requests({ puts: [put('/q', 'before'), put('/s', 'after'), put('/r', 'parent'), put('/r/x/deeper', 'd')] }));
  return values;
}

test('a delete range chunked: same store as whole, per-key before or after, crash at any chunk resumes', async () => {
  await check({
    name: 'range',
    config: HIER,
    setup: populated(200),
    batch: [
      requests({
        puts: [put('/r/0050', 'staged, then deleted by the range', { secondaryIndexes: { byName: 'new' } }), put('/t', 'outside')],
        deletes: [del('/q')],
        deleteRanges: [{ startInclusive: '/r/', endExclusive: '/r//' }],
      }),
    ],
  });
});

test('chunked in natural order, two overlapping ranges, a put after the range in the same batch survives', async () => {
  await check({
    name: 'natural',
    config: NATURAL,
    setup: populated(150),
    batch: [
      requests({ puts: [put('/a', 'earlier entry of the batch')] }),
      requests({
        puts: [put('/r/0149', 'staged in the second range')],
        deleteRanges: [
          { startInclusive: '/r/0000', endExclusive: '/r/0100' },
          { startInclusive: '/r/0080', endExclusive: '/s' },
        ],
      }),
      requests({ puts: [put('/r/0007', 'put after the range', { secondaryIndexes: { byNumber: 'x' } }), put('/r/x/deeper', 'again')] }),
    ],
  });
});

test('an entry of several requests: a failing one changes nothing, a later one writes into the deleted range', async () => {
  await check({
    name: 'several requests',
    config: HIER,
    // Absent while the range's chunks are written, then put back by the third request.
    inBetween: ['/r/0003'],
    setup: populated(120),
    batch: [
      {
        value: {
          $case: 'requests',
          value: {
            writes: [
              WriteRequest.fromPartial({ puts: [put('/r/0001', 'x')], deleteRanges: [{ startInclusive: '/r/', endExclusive: '/r//' }] }),
              // A sequence put without a partition key fails its whole request.
              WriteRequest.fromPartial({ puts: [put('/r/0002', 'y'), put('/seq', 'z', { sequenceKeyDelta: [1n] })] }),
              WriteRequest.fromPartial({ puts: [put('/r/0003', 'written after the range', { secondaryIndexes: { byName: 'late' } })] }),
            ],
          },
        },
      },
    ],
  });
});

test('a session end chunked: every ephemeral record goes with its indexes, one notification each', async () => {
  const setup = populated(20);
  setup.push(sessionOpen(BigInt(setup.length)));
  const s = BigInt(setup.length - 1);
  const puts = [];
  for (let i = 0; i < 250; i++) puts.push(put(`/e/${i}`, 'v', { sessionId: s, ...(i % 4 === 0 ? { secondaryIndexes: { byOwner: 's' } } : {}) }));
  setup.push(requests({ puts }));
  setup.push(requests({ puts: [put('/e/7', 'no longer ephemeral'), put('/e/8', 'moved to session 0', { sessionId: 0n })] }));
  await check({
    name: 'session end',
    config: HIER,
    setup,
    batch: [requests({ puts: [put('/before', 'x')] }), requests({ deletes: [sessionDeleteRequest(s)] }), requests({ puts: [put('/e/9', 'recreated')] })],
  });
  // And the notification batch of the session end names every record it removed.
  const kv = new MemoryKv();
  for (const e of entriesOf([...setup], 0n)) kv.write((await applyEntry(kv, e, HIER)).ops);
  const { applied } = await applyBatch(kv, HIER, entriesOf([requests({ deletes: [sessionDeleteRequest(s)] })], BigInt(setup.length)), { chunked: true });
  const deleted = applied[0]!.notifications!.notifications.filter((n) => n.value!.type === NotificationType.KEY_DELETED).map((n) => n.key);
  assert.is(deleted.length, 248, 'all but the two records that left the session');
  assert.not.ok(deleted.includes('/e/7'));
  assert.not.ok(deleted.includes('/e/8'));
});

test('a range across the internal region: client internal keys go, the shard’s own records never', async () => {
  const setup = populated(60);
  const puts = [];
  for (let i = 0; i < 60; i++) puts.push(put(`__oxia/client/${i}`, 'v'));
  setup.push(requests({ puts }));
  await check({
    name: 'internal region',
    config: HIER,
    setup,
    batch: [requests({ deleteRanges: [{ startInclusive: '', endExclusive: '__oxia/zzzz' }] })],
  });
});

test('without notifications and with them the chunked entry writes the same records', async () => {
  await check({
    name: 'no notifications',
    config: { keySorting: 'hierarchical', notificationsEnabled: false },
    setup: populated(100),
    batch: [requests({ deleteRanges: [{ startInclusive: '/r/', endExclusive: '' }] })],
  });
});

test('the progress record is the shard’s own: clients cannot write it, gets do not return it', async () => {
  for (const key of ['__oxia/apply-progress', '__oxia/apply-progress/0000000000000000']) {
    assert.throws(() => validateWriteRequest(WriteRequest.fromPartial({ puts: [put(key, 'forged')] }), DEFAULT_REQUEST_LIMITS, HIER), /reserved/);
    assert.throws(() => validateWriteRequest(WriteRequest.fromPartial({ deletes: [del(key)] }), DEFAULT_REQUEST_LIMITS, HIER), /reserved/);
  }
});

test('a progress record of another entry is refused', async () => {
  const progress: ApplyProgress = { offset: 9n, request: 0, phase: 'deleteRanges', item: 0, cursor: new Uint8Array(), versionId: 0n, notes: 0 };
  try {
    await applyEntry(new MemoryKv(), entriesOf([requests({ puts: [put('/a', 'v')] })], 8n)[0]!, HIER, { resume: progress });
    assert.unreachable('refused');
  } catch (e) {
    assert.match(String(e), /progress of entry 9/);
  }
});

test.run();
