// The file WAL adapter on real files in a temp dir: format, recovery, retention, group commit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { constants, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';
import { FileWalFactory } from '../../src/adapters/wal-file/file-wal-factory.js';
import { SEALED_INDEXES_KEPT, type FileWal } from '../../src/adapters/wal-file/file-wal.js';
import { RECORD_OVERHEAD_BYTES, SEGMENT_HEADER_BYTES, encodeSegmentHeader, segmentFileName } from '../../src/adapters/wal-file/record-format.js';
import type { WalFileOptions } from '../../src/adapters/wal-file/wal-file-options.js';
import type { ShardRef } from '../../src/application/ports/shard-ref.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import { INVALID_ENTRY_ID, type LogEntry } from '../../src/domain/wal/log-entry.js';
import { parseExposition } from '../support/metrics-scrape.js';
import { openDescriptors } from '../support/open-descriptors.js';

const SHARD: ShardRef = { namespace: 'default', shard: 3n };

interface Ctx {
  root: string;
  factory: FileWalFactory;
  shardDir: string;
  opened: FileWal[];
}

function setup(options: Partial<WalFileOptions> = {}): Ctx {
  const root = mkdtempSync(join(tmpdir(), 'oxia-wal-test-'));
  const factory = new FileWalFactory({ dir: root, ...options });
  return { root, factory, shardDir: factory.shardDir(SHARD), opened: [] };
}

async function openWal(ctx: Ctx): Promise<FileWal> {
  const wal = await ctx.factory.open(SHARD);
  ctx.opened.push(wal);
  return wal;
}

async function teardown(ctx: Ctx): Promise<void> {
  await Promise.all(ctx.opened.map((w) => w.close().catch(() => undefined)));
  rmSync(ctx.root, { recursive: true, force: true });
}

/** Runs `body` with a fresh temp dir that is removed afterwards, also on failure. */
function walTest(name: string, body: (ctx: Ctx) => Promise<void>, options: Partial<WalFileOptions> = {}): void {
  test(name, async () => {
    const ctx = setup(options);
    try {
      await body(ctx);
    } finally {
      await teardown(ctx);
    }
  });
}

function valueOf(offset: bigint, size = 10): Uint8Array {
  const v = new Uint8Array(size);
  for (let i = 0; i < size; i++) v[i] = Number((offset * 31n + BigInt(i) * 7n) % 251n);
  return v;
}

function entry(offset: bigint, term = 1n, size = 10, timestamp = 1000n + offset): LogEntry {
  return { term, offset, timestamp, value: valueOf(offset, size) };
}

function entries(from: bigint, to: bigint, term = 1n, size = 10): LogEntry[] {
  const out: LogEntry[] = [];
  for (let o = from; o <= to; o++) out.push(entry(o, term, size));
  return out;
}

/** Appends [from, to] a few entries per call, so that segments can roll over between calls. */
async function appendInSteps(wal: FileWal, from: bigint, to: bigint, term = 1n, size = 10, perAppend = 2n): Promise<void> {
  for (let o = from; o <= to; o += perAppend) {
    const last = o + perAppend - 1n < to ? o + perAppend - 1n : to;
    await wal.append(entries(o, last, term, size));
  }
}

async function readAll(wal: FileWal, from: bigint): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of wal.read(from)) out.push(e);
  return out;
}

async function rejects(p: Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(check(e), `${what}: unexpected error ${String(e)}`);
    return;
  }
  assert.unreachable(`${what}: expected a rejection`);
}

function segmentsOnDisk(ctx: Ctx): string[] {
  return readdirSync(ctx.shardDir).filter((n) => n.endsWith('.wal')).sort();
}

walTest('append then read from any offset', async (ctx) => {
  const wal = await openWal(ctx);
  assert.equal(wal.lastEntryId(), INVALID_ENTRY_ID);
  assert.is(wal.firstOffset(), -1n);
  assert.equal(await readAll(wal, 0n), []);
  await wal.append(entries(0n, 3n));
  await wal.append([entry(4n)]);
  await wal.append(entries(5n, 9n, 2n));
  assert.equal(wal.lastEntryId(), { term: 2n, offset: 9n });
  assert.is(wal.firstOffset(), 0n);
  assert.equal(await readAll(wal, 0n), [...entries(0n, 4n), ...entries(5n, 9n, 2n)]);
  assert.equal(await readAll(wal, 7n), entries(7n, 9n, 2n));
  assert.equal(await readAll(wal, 10n), [], 'from the next offset: nothing yet');
  assert.equal(await readAll(wal, 100n), []);
  assert.ok(existsSync(join(ctx.root, 'default', '3', segmentFileName(0n))), 'files live in <dir>/<namespace>/<shard>/');
});

walTest('an empty value and a large value round-trip', async (ctx) => {
  const wal = await openWal(ctx);
  await wal.append([entry(0n, 1n, 0), entry(1n, 1n, 3 * 1024 * 1024)]);
  assert.equal(await readAll(wal, 0n), [entry(0n, 1n, 0), entry(1n, 1n, 3 * 1024 * 1024)]);
});

walTest('reopen: the log is as it was and appends continue', async (ctx) => {
  let wal = await openWal(ctx);
  await wal.append(entries(0n, 49n, 1n, 100));
  await wal.append(entries(50n, 99n, 2n, 100));
  await wal.close();
  wal = await openWal(ctx);
  assert.is(wal.recoveryCut, undefined);
  assert.equal(wal.lastEntryId(), { term: 2n, offset: 99n });
  assert.is(wal.firstOffset(), 0n);
  assert.equal(await readAll(wal, 0n), [...entries(0n, 49n, 1n, 100), ...entries(50n, 99n, 2n, 100)]);
  await rejects(wal.append([entry(99n, 2n)]), (e) => isOxiaError(e, 'InvalidArgument'), 'offset already present');
  await wal.append([entry(100n, 2n)]);
  assert.equal(wal.lastEntryId(), { term: 2n, offset: 100n });
}, { segmentSizeBytes: 4096 });

walTest('offsets must be dense and terms must not decrease', async (ctx) => {
  const wal = await openWal(ctx);
  await wal.append([entry(5n, 2n)]); // an empty log takes any offset
  assert.is(wal.firstOffset(), 5n);
  await rejects(wal.append([entry(7n, 2n)]), (e) => isOxiaError(e, 'InvalidArgument') && /expected offset 6/.test((e as Error).message), 'gap');
  await rejects(wal.append([entry(5n, 2n)]), (e) => isOxiaError(e, 'InvalidArgument'), 'repeat');
  await rejects(wal.append([entry(6n, 2n), entry(8n, 2n)]), (e) => isOxiaError(e, 'InvalidArgument'), 'gap inside a batch');
  await rejects(wal.append([entry(6n, 1n)]), (e) => isOxiaError(e, 'InvalidTerm'), 'lower term');
  await rejects(wal.append([entry(6n, 3n), entry(7n, 2n)]), (e) => isOxiaError(e, 'InvalidTerm'), 'term decreasing inside a batch');
  assert.equal(wal.lastEntryId(), { term: 2n, offset: 5n }, 'rejected appends change nothing');
  await wal.append([entry(6n, 2n), entry(7n, 3n)]);
  assert.equal(await readAll(wal, 5n), [entry(5n, 2n), entry(6n, 2n), entry(7n, 3n)]);
  const fresh = setup();
  try {
    const other = await openWal(fresh);
    await rejects(other.append([entry(-1n)]), (e) => isOxiaError(e, 'InvalidArgument'), 'negative offset');
    await rejects(other.append([entry(2n ** 63n)]), (e) => isOxiaError(e, 'InvalidArgument'), 'offset beyond 64 bits');
    await rejects(other.append([entry(0n, -2n)]), (e) => isOxiaError(e, 'InvalidTerm'), 'negative term');
    assert.equal(other.lastEntryId(), INVALID_ENTRY_ID);
  } finally {
    await teardown(fresh);
  }
});

walTest('torn tail: the torn record is cut, earlier ones survive, appends resume', async (ctx) => {
  let wal = await openWal(ctx);
  for (let o = 0n; o < 5n; o++) await wal.append([entry(o)]);
  await wal.close();
  const file = join(ctx.shardDir, segmentFileName(0n));
  const size = statSync(file).size;
  truncateSync(file, size - 3);

  wal = await openWal(ctx);
  assert.equal(wal.lastEntryId(), { term: 1n, offset: 3n });
  assert.equal(await readAll(wal, 0n), entries(0n, 3n));
  const cut = wal.recoveryCut;
  assert.ok(cut !== undefined, 'the cut is reported');
  assert.is(cut.firstLostOffset, 4n);
  assert.is(cut.segment, segmentFileName(0n));
  assert.is(cut.atByte, size - (RECORD_OVERHEAD_BYTES + 10));
  assert.is(cut.bytesDropped, RECORD_OVERHEAD_BYTES + 10 - 3);
  assert.match(cut.reason, /torn/);
  assert.is(statSync(file).size, cut.atByte, 'the file was truncated at the cut');

  await wal.append([entry(4n, 2n), entry(5n, 2n)]);
  await wal.close();
  wal = await openWal(ctx);
  assert.is(wal.recoveryCut, undefined);
  assert.equal(await readAll(wal, 0n), [...entries(0n, 3n), entry(4n, 2n), entry(5n, 2n)]);
});

walTest('a torn record header is cut too', async (ctx) => {
  let wal = await openWal(ctx);
  await wal.append(entries(0n, 2n));
  await wal.close();
  const file = join(ctx.shardDir, segmentFileName(0n));
  writeFileSync(file, Buffer.from([0, 0, 0]), { flag: 'a' }); // three stray bytes after the last record
  wal = await openWal(ctx);
  assert.equal(wal.lastEntryId(), { term: 1n, offset: 2n });
  assert.is(wal.recoveryCut?.bytesDropped, 3);
  assert.equal(await readAll(wal, 0n), entries(0n, 2n));
});

walTest('a corrupt record in the middle cuts it and everything after, later segments included', async (ctx) => {
  let wal = await openWal(ctx);
  for (let o = 0n; o < 40n; o += 2n) await wal.append(entries(o, o + 1n, 1n, 200));
  assert.ok(wal.segmentFiles().length >= 3, 'several segments');
  await wal.close();
  const file = join(ctx.shardDir, segmentFileName(0n));
  const bytes = readFileSync(file);
  const recordSize = RECORD_OVERHEAD_BYTES + 200;
  const at = SEGMENT_HEADER_BYTES + 7 * recordSize + RECORD_OVERHEAD_BYTES + 50; // inside record 7's value
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(file, bytes);

  wal = await openWal(ctx);
  assert.equal(wal.lastEntryId(), { term: 1n, offset: 6n });
  assert.equal(await readAll(wal, 0n), entries(0n, 6n, 1n, 200));
  assert.equal(segmentsOnDisk(ctx), [segmentFileName(0n)]);
  const cut = wal.recoveryCut!;
  assert.is(cut.firstLostOffset, 7n);
  assert.match(cut.reason, /CRC/);
  assert.ok(cut.deletedSegments.length >= 2, 'later segments are reported deleted');
  await wal.append([entry(7n, 2n)]);
  assert.equal((await readAll(wal, 6n)).map((e) => e.offset), [6n, 7n]);
}, { segmentSizeBytes: 4096 });

walTest('a record copied from another log does not validate (the chain is seeded per file)', async (ctx) => {
  const other = setup();
  try {
    let wal = await openWal(ctx);
    const twin = await openWal(other);
    await wal.append(entries(0n, 5n));
    await twin.append(entries(0n, 5n));
    await wal.close();
    await twin.close();
    const file = join(ctx.shardDir, segmentFileName(0n));
    const mine = readFileSync(file);
    const theirs = readFileSync(join(other.shardDir, segmentFileName(0n)));
    assert.is(mine.length, theirs.length);
    const recordSize = RECORD_OVERHEAD_BYTES + 10;
    const start = SEGMENT_HEADER_BYTES + 3 * recordSize;
    assert.ok(!mine.subarray(start, start + 4).equals(theirs.subarray(start, start + 4)), 'same content, different CRCs');
    theirs.copy(mine, start, start, start + recordSize); // identical entry 3, but from the twin's chain
    writeFileSync(file, mine);
    wal = await openWal(ctx);
    assert.equal(wal.lastEntryId(), { term: 1n, offset: 2n });
    assert.is(wal.recoveryCut?.firstLostOffset, 3n);
  } finally {
    await teardown(other);
  }
});

walTest('a read notices bytes that changed on disk since they were written', async (ctx) => {
  const wal = await openWal(ctx);
  await wal.append(entries(0n, 5n));
  const file = join(ctx.shardDir, segmentFileName(0n));
  const bytes = readFileSync(file);
  const at = SEGMENT_HEADER_BYTES + 4 * (RECORD_OVERHEAD_BYTES + 10) + RECORD_OVERHEAD_BYTES + 2; // in entry 4's value
  bytes[at] = bytes[at]! ^ 0x80;
  writeFileSync(file, bytes);
  assert.equal(await readAll(wal, 2n).then((es) => es.length).catch(() => -1), -1, 'the chunk holding entry 4 fails');
  await rejects(readAll(wal, 4n), (e) => e instanceof Error && /offset 4 .* is corrupt/.test(e.message), 'corrupt read');
  assert.equal(await readAll(wal, 5n), [entry(5n)], 'the next record is intact (its CRC is known from the index)');
});

walTest('a header-only segment left by a crash while rolling over is dropped', async (ctx) => {
  let wal = await openWal(ctx);
  await wal.append(entries(0n, 9n));
  await wal.close();
  // A valid header for the next segment but no record, as a crash right after creating it leaves.
  writeFileSync(join(ctx.shardDir, segmentFileName(10n)), encodeSegmentHeader(10n, 7).bytes);
  wal = await openWal(ctx);
  assert.equal(wal.lastEntryId(), { term: 1n, offset: 9n });
  assert.equal(wal.recoveryCut?.deletedSegments, [segmentFileName(10n)]);
  assert.equal(segmentsOnDisk(ctx), [segmentFileName(0n)]);
  await wal.append([entry(10n)]);
  assert.equal(await readAll(wal, 9n), [entry(9n), entry(10n)]);
});

walTest('segment rollover: files named by first offset, none past the size limit', async (ctx) => {
  const wal = await openWal(ctx);
  for (let o = 0n; o < 60n; o += 3n) await wal.append(entries(o, o + 2n, 1n, 300));
  const files = segmentsOnDisk(ctx);
  // 4 appends of 3 records (996 bytes) fit in 4096 bytes with the header: 12 records a segment.
  assert.is(files.length, 5);
  assert.equal(files, wal.segmentFiles());
  assert.is(files[0], '00000000000000000000.wal');
  let expectedFirst = 0n;
  for (const f of files) {
    assert.is(BigInt(f.slice(0, 20)), expectedFirst, 'each segment starts where the previous one ended');
    const size = statSync(join(ctx.shardDir, f)).size;
    assert.ok(size <= 4096, `${f} has ${size} bytes`);
    expectedFirst += BigInt((size - SEGMENT_HEADER_BYTES) / (RECORD_OVERHEAD_BYTES + 300));
  }
  assert.is(expectedFirst, 60n);
  assert.equal(await readAll(wal, 0n), entries(0n, 59n, 1n, 300));
  assert.equal(await readAll(wal, 31n), entries(31n, 59n, 1n, 300));
}, { segmentSizeBytes: 4096 });

walTest('sealed segments beyond the newest few drop their index; a read rebuilds it from the file', async (ctx) => {
  let wal = await openWal(ctx);
  // 12 records of 300 bytes per 4 KiB segment: 10 segments.
  await appendInSteps(wal, 0n, 119n, 1n, 300, 3n);
  assert.is(wal.segmentFiles().length, 10);
  assert.is(wal.indexedSegmentCount(), SEALED_INDEXES_KEPT + 1, 'the active segment and the newest sealed ones');
  assert.equal(await readAll(wal, 0n), entries(0n, 119n, 1n, 300), 'every segment read back, indexes rebuilt on the way');
  assert.is(wal.indexedSegmentCount(), SEALED_INDEXES_KEPT + 1, 'the bound holds after reading them all');
  assert.equal(await readAll(wal, 5n), entries(5n, 119n, 1n, 300));

  // Opening the log keeps the same bound, and truncating into a segment without its index works.
  await wal.close();
  wal = await openWal(ctx);
  assert.is(wal.indexedSegmentCount(), SEALED_INDEXES_KEPT + 1);
  assert.equal(await wal.truncateAfter(14n), { term: 1n, offset: 14n });
  await wal.append(entries(15n, 20n, 2n, 300));
  assert.equal(await readAll(wal, 0n), [...entries(0n, 14n, 1n, 300), ...entries(15n, 20n, 2n, 300)]);
  await wal.close();
  wal = await openWal(ctx);
  assert.is(wal.recoveryCut, undefined);
  assert.equal(await readAll(wal, 0n), [...entries(0n, 14n, 1n, 300), ...entries(15n, 20n, 2n, 300)]);
}, { segmentSizeBytes: 4096 });

walTest('a segment whose file changed while its index was dropped is not read', async (ctx) => {
  const wal = await openWal(ctx);
  await appendInSteps(wal, 0n, 119n, 1n, 300, 3n);
  const file = join(ctx.shardDir, segmentFileName(0n));
  const bytes = readFileSync(file);
  const at = SEGMENT_HEADER_BYTES + 5 * (RECORD_OVERHEAD_BYTES + 300) + RECORD_OVERHEAD_BYTES + 2; // in entry 5's value
  bytes[at] = bytes[at]! ^ 0x80;
  writeFileSync(file, bytes);
  await rejects(readAll(wal, 0n), (e) => e instanceof Error && /no longer holds the 12 records/.test(e.message), 'rebuilding the index of a changed file');
  assert.equal(await readAll(wal, 12n), entries(12n, 119n, 1n, 300), 'the other segments read as before');
}, { segmentSizeBytes: 4096 });

walTest('truncateAfter drops later entries across segments and reports the new head', async (ctx) => {
  let wal = await openWal(ctx);
  await appendInSteps(wal, 0n, 19n, 1n, 300);
  await appendInSteps(wal, 20n, 39n, 2n, 300);
  const segmentsBefore = wal.segmentFiles().length;
  assert.equal(await wal.truncateAfter(25n), { term: 2n, offset: 25n });
  assert.equal(wal.lastEntryId(), { term: 2n, offset: 25n });
  assert.equal(await wal.truncateAfter(12n), { term: 1n, offset: 12n });
  assert.ok(wal.segmentFiles().length < segmentsBefore);
  assert.equal(segmentsOnDisk(ctx), wal.segmentFiles());
  assert.equal(await readAll(wal, 0n), entries(0n, 12n, 1n, 300));
  assert.equal(await wal.truncateAfter(12n), { term: 1n, offset: 12n }, 'at the head: nothing to drop');
  assert.equal(await wal.truncateAfter(50n), { term: 1n, offset: 12n }, 'past the head: nothing to drop');
  await rejects(wal.append([entry(14n, 3n)]), (e) => isOxiaError(e, 'InvalidArgument'), 'gap after truncation');
  await appendInSteps(wal, 13n, 15n, 3n, 300);
  await wal.close();
  wal = await openWal(ctx);
  assert.is(wal.recoveryCut, undefined);
  assert.equal(await readAll(wal, 0n), [...entries(0n, 12n, 1n, 300), ...entries(13n, 15n, 3n, 300)]);
  assert.equal(await wal.truncateAfter(-1n), INVALID_ENTRY_ID, 'before the first entry: the log empties');
  assert.is(wal.firstOffset(), -1n);
  assert.equal(segmentsOnDisk(ctx), []);
  await wal.append([entry(3n, 4n)]);
  assert.equal(await readAll(wal, 3n), [entry(3n, 4n)]);
}, { segmentSizeBytes: 4096 });

walTest('truncateAfter and append issued without waiting apply in call order', async (ctx) => {
  const wal = await openWal(ctx);
  const ops = [wal.append(entries(0n, 9n)), wal.truncateAfter(4n), wal.append([entry(5n, 2n)])];
  assert.equal(wal.lastEntryId(), { term: 2n, offset: 5n });
  await Promise.all(ops);
  assert.equal(await readAll(wal, 0n), [...entries(0n, 4n), entry(5n, 2n)]);
});

walTest('trimBefore drops whole segments before the offset, never the one holding it', async (ctx) => {
  const wal = await openWal(ctx);
  await appendInSteps(wal, 0n, 59n, 1n, 300);
  const files = wal.segmentFiles();
  const firsts = files.map((f) => BigInt(f.slice(0, 20)));
  const k = 3;
  const target = firsts[k]! + 1n; // inside segment k
  await wal.trimBefore(target);
  assert.is(wal.firstOffset(), firsts[k]!);
  assert.equal(segmentsOnDisk(ctx), files.slice(k));
  await rejects(readAll(wal, firsts[k]! - 1n), (e) => e instanceof Error && /starts at offset/.test(e.message), 'read below the first offset');
  assert.equal(await readAll(wal, firsts[k]!), entries(firsts[k]!, 59n, 1n, 300));
  await wal.trimBefore(firsts[k]!); // exactly the first offset of a segment: nothing before it to drop
  assert.is(wal.firstOffset(), firsts[k]!);
  await wal.trimBefore(1000n);
  assert.equal(wal.segmentFiles(), [files[files.length - 1]], 'the active segment stays');
  assert.equal(wal.lastEntryId(), { term: 1n, offset: 59n });
  await wal.append([entry(60n, 1n, 300)]);
  await wal.close();
  const reopened = await openWal(ctx);
  assert.is(reopened.firstOffset(), firsts[firsts.length - 1]!);
  assert.equal(reopened.lastEntryId(), { term: 1n, offset: 60n });
}, { segmentSizeBytes: 4096 });

walTest('expire drops old segments, but none holding offsets at or after notAfterOffset', async (ctx) => {
  const wal = await openWal(ctx);
  // Timestamps: 1000 + offset.
  await appendInSteps(wal, 0n, 59n, 1n, 300);
  const files = wal.segmentFiles();
  const firsts = files.map((f) => BigInt(f.slice(0, 20)));
  await wal.expire(1000n, 1000n); // every entry is at least that new
  assert.equal(wal.segmentFiles(), files);
  // All old enough, but only segments wholly below offset firsts[2] + 1 may go.
  await wal.expire(10_000n, firsts[2]! + 1n);
  assert.equal(wal.segmentFiles(), files.slice(2));
  assert.is(wal.firstOffset(), firsts[2]!);
  // Segment 2's entries are all older than this, segment 3's first entry is not (newest counts).
  await wal.expire(1000n + firsts[3]! + 1n, 1000n);
  assert.equal(wal.segmentFiles(), files.slice(3));
  await wal.expire(10_000n, 1000n);
  assert.equal(wal.segmentFiles(), [files[files.length - 1]], 'never the active segment');
  assert.equal(segmentsOnDisk(ctx), wal.segmentFiles());
  assert.equal(await readAll(wal, firsts[firsts.length - 1]!), entries(firsts[firsts.length - 1]!, 59n, 1n, 300));
}, { segmentSizeBytes: 4096 });

walTest('clear empties the log; the next append may start anywhere', async (ctx) => {
  let wal = await openWal(ctx);
  await appendInSteps(wal, 0n, 29n, 2n, 300);
  await wal.clear();
  assert.equal(wal.lastEntryId(), INVALID_ENTRY_ID);
  assert.is(wal.firstOffset(), -1n);
  assert.equal(segmentsOnDisk(ctx), []);
  assert.equal(await readAll(wal, 0n), []);
  await wal.append([entry(500n, 1n)]); // a lower term is fine after clear: it is a new log
  assert.is(wal.firstOffset(), 500n);
  await wal.append([entry(501n, 1n)]);
  await wal.close();
  wal = await openWal(ctx);
  assert.is(wal.firstOffset(), 500n);
  assert.equal(await readAll(wal, 500n), [entry(500n, 1n), entry(501n, 1n)]);
}, { segmentSizeBytes: 4096 });

walTest('clear and append issued without waiting: firstOffset follows the call order', async (ctx) => {
  const wal = await openWal(ctx);
  await appendInSteps(wal, 0n, 29n, 1n, 300);
  const cleared = wal.clear();
  const appended = wal.append([entry(100n)]);
  assert.is(wal.firstOffset(), 100n);
  await Promise.all([cleared, appended]);
  assert.is(wal.firstOffset(), 100n);
  assert.equal(await readAll(wal, 100n), [entry(100n)]);
}, { segmentSizeBytes: 4096 });

walTest('group commit: many concurrent appends share few fsyncs', async (ctx) => {
  const wal = await openWal(ctx);
  const count = 400;
  const acks: number[] = [];
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) pending.push(wal.append([entry(BigInt(i), 1n, 100)]).then(() => void acks.push(i)));
  await Promise.all(pending);
  assert.is(acks.length, count);
  assert.equal(acks, [...acks].sort((a, b) => a - b), 'appends resolve in order');
  assert.ok(wal.syncCount >= 1, 'appends are synced');
  assert.ok(wal.syncCount <= count / 20, `${wal.syncCount} fsyncs for ${count} appends`);
  assert.equal(await readAll(wal, 0n), entries(0n, BigInt(count - 1), 1n, 100));
});

walTest('one append after another: each one syncs (nothing is left unsynced)', async (ctx) => {
  const wal = await openWal(ctx);
  for (let o = 0n; o < 5n; o++) await wal.append([entry(o)]);
  assert.is(wal.syncCount, 5);
});

/** The open flags of this process's descriptors for files under `dir` (Linux: /proc/self/fdinfo). */
function openFlagsUnder(dir: string): number[] {
  const flags: number[] = [];
  for (const { fd, target } of openDescriptors()) {
    if (!target.startsWith(dir + '/')) continue;
    const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    if (m) flags.push(parseInt(m[1]!, 8));
  }
  return flags;
}

const LINUX_PROC = existsSync('/proc/self/fdinfo');

walTest('with syncData, segments are written O_DSYNC: each write is durable without an fdatasync after it', async (ctx) => {
  if (!LINUX_PROC) return;
  const wal = await openWal(ctx);
  for (let o = 0n; o < 100n; o += 10n) await wal.append(entries(o, o + 9n, 1n, 200)); // fills several 4 KiB segments
  const flags = openFlagsUnder(ctx.shardDir);
  assert.ok(flags.length >= 2, `segment descriptors found: ${flags.length}`);
  for (const f of flags) assert.ok((f & constants.O_DSYNC) !== 0, `flags ${f.toString(8)} lack O_DSYNC`);
  // Reopened segments (recovery) are written the same way.
  await wal.close();
  const reopened = await openWal(ctx);
  await reopened.append([entry(100n, 1n, 200)]);
  const again = openFlagsUnder(ctx.shardDir);
  assert.ok(again.length >= 1);
  for (const f of again) assert.ok((f & constants.O_DSYNC) !== 0, `reopened: flags ${f.toString(8)} lack O_DSYNC`);
}, { segmentSizeBytes: 4096 });

walTest('without syncData, segments are not opened O_DSYNC', async (ctx) => {
  if (!LINUX_PROC) return;
  const wal = await openWal(ctx);
  await wal.append(entries(0n, 9n));
  const flags = openFlagsUnder(ctx.shardDir);
  assert.ok(flags.length >= 1);
  for (const f of flags) assert.is(f & constants.O_DSYNC, 0);
}, { syncData: false });

walTest('reads see an append once it resolved, also while a read is in progress', async (ctx) => {
  const wal = await openWal(ctx);
  await wal.append(entries(0n, 9n));
  const it = wal.read(0n)[Symbol.asyncIterator]();
  const first = await it.next();
  assert.equal(first.value, entry(0n));
  await wal.append(entries(10n, 10_009n, 1n, 50)); // across segments, beyond the first read chunk
  let expected = 1n;
  for (let r = await it.next(); !r.done; r = await it.next()) {
    assert.is(r.value.offset, expected);
    expected++;
  }
  assert.is(expected, 10_010n);
}, { segmentSizeBytes: 64 * 1024 });

walTest('a reader of trimmed segments keeps working until it reaches trimmed offsets', async (ctx) => {
  const wal = await openWal(ctx);
  await appendInSteps(wal, 0n, 59n, 1n, 300);
  const it = wal.read(0n)[Symbol.asyncIterator]();
  assert.is((await it.next()).value?.offset, 0n);
  await wal.trimBefore(59n);
  // The reader already fetched a chunk of the first segment; past it, the log starts later.
  await rejects(
    (async () => {
      for (let r = await it.next(); !r.done; r = await it.next());
    })(),
    (e) => e instanceof Error && /starts at offset/.test(e.message),
    'reading into trimmed offsets',
  );
}, { segmentSizeBytes: 4096 });

walTest('close waits for queued appends; afterwards calls are refused', async (ctx) => {
  const wal = await openWal(ctx);
  const appended = wal.append(entries(0n, 99n));
  const closed = wal.close();
  await appended;
  await closed;
  await wal.close(); // idempotent
  await rejects(wal.append([entry(100n)]), (e) => isOxiaError(e, 'Closed'), 'append after close');
  await rejects(readAll(wal, 0n), (e) => isOxiaError(e, 'Closed'), 'read after close');
  const reopened = await openWal(ctx);
  assert.equal(reopened.lastEntryId(), { term: 1n, offset: 99n });
});

walTest('a shard log is opened once at a time', async (ctx) => {
  const wal = await openWal(ctx);
  await rejects(ctx.factory.open(SHARD), (e) => isOxiaError(e, 'ResourceConflict'), 'second open');
  await wal.close();
  await openWal(ctx);
});

walTest('delete removes the shard log for good; it must be closed first', async (ctx) => {
  const wal = await openWal(ctx);
  await wal.append(entries(0n, 9n));
  const other = await ctx.factory.open({ namespace: 'default', shard: 4n });
  ctx.opened.push(other);
  await other.append(entries(0n, 2n));
  await rejects(ctx.factory.delete(SHARD), (e) => isOxiaError(e, 'ResourceConflict'), 'delete while open');
  await wal.close();
  await ctx.factory.delete(SHARD);
  assert.not.ok(existsSync(ctx.shardDir));
  assert.equal(readdirSync(join(ctx.root, 'default')), ['4'], 'no tombstone left, other shards untouched');
  await ctx.factory.delete(SHARD); // already gone: nothing to do
  const fresh = await openWal(ctx);
  assert.equal(fresh.lastEntryId(), INVALID_ENTRY_ID);
  assert.equal(await readAll(other, 0n), entries(0n, 2n));
});

walTest('namespaces map to one safe directory name', async (ctx) => {
  assert.ok(ctx.factory.shardDir({ namespace: '../x', shard: 1n }).startsWith(ctx.root + '/'));
  assert.not.ok(ctx.factory.shardDir({ namespace: '../x', shard: 1n }).includes('/../'));
  assert.throws(() => ctx.factory.shardDir({ namespace: '..', shard: 1n }), (e: unknown) => isOxiaError(e, 'InvalidArgument'));
  assert.throws(() => ctx.factory.shardDir({ namespace: 'a', shard: -1n }), (e: unknown) => isOxiaError(e, 'InvalidArgument'));
});

test('options are validated', () => {
  assert.throws(() => new FileWalFactory({ dir: '' }), /dir/);
  assert.throws(() => new FileWalFactory({ dir: '/tmp/x', segmentSizeBytes: 10 }), /segmentSizeBytes/);
  assert.throws(() => new FileWalFactory({ dir: '/tmp/x', queuedBytesMax: 0 }), /queuedBytesMax/);
});

walTest('the write queue is bounded, but a single append always gets in', async (ctx) => {
  const wal = await openWal(ctx);
  const first = wal.append([entry(0n, 1n, 6000)]); // written at once: a round of its own
  const second = wal.append([entry(1n, 1n, 6000)]); // queued behind it: 6032 bytes
  await rejects(wal.append([entry(2n, 1n, 6000)]), (e) => isOxiaError(e, 'ResourceUnavailable'), 'over the queue bound');
  assert.equal(wal.lastEntryId(), { term: 1n, offset: 1n }, 'the refused append changed nothing');
  await Promise.all([first, second]);
  await wal.append([entry(2n, 1n, 20_000)]); // larger than the bound, but alone in the queue
  assert.equal(await readAll(wal, 0n), [entry(0n, 1n, 6000), entry(1n, 1n, 6000), entry(2n, 1n, 20_000)]);
}, { queuedBytesMax: 10_000 });

test("reads are metered per chunk under Oxia's names: the bytes read, one latency per file read (ADR 0026)", async () => {
  const root = mkdtempSync(join(tmpdir(), 'oxia-wal-test-'));
  const metrics = new PromMetrics();
  const wal = await new FileWalFactory({ dir: root }, metrics).open(SHARD);
  try {
    await wal.append([0n, 1n, 2n, 3n, 4n].map((o) => entry(o)));
    const read: bigint[] = [];
    for await (const e of wal.read(1n)) read.push(e.offset);
    assert.equal(read, [1n, 2n, 3n, 4n]);
    const m = parseExposition((await metrics.exposition()).body);
    const labels = { oxia_namespace: 'default', shard: '3' };
    assert.is(m.value('oxia_server_wal_read_bytes_total', labels), 4 * (RECORD_OVERHEAD_BYTES + 10), 'the four records with their framing');
    assert.is(m.value('oxia_server_wal_read_latency_milliseconds_count', labels), 1, 'four entries in one chunk: one file read');
    assert.is(m.value('oxia_server_wal_append_bytes_total', labels), 5 * (RECORD_OVERHEAD_BYTES + 10), 'the same framing as appended');
  } finally {
    await wal.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
