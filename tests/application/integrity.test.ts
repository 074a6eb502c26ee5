// ADR 0031: the CRC chain over the log is Oxia's (CRC-32C over the LogEntry message, chained
// and masked), the state digest is a function of the store's records only, and both come
// out the same on a SQLite and a LevelDB replica of one shard, however the entries were batched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { FileWalFactory } from '../../src/adapters/wal-file/file-wal-factory.js';
import type { KvStore } from '../../src/application/ports/kv-store.js';
import { applyBatch, type DecodedEntry } from '../../src/application/shard/apply-batch.js';
import { LogChain } from '../../src/application/shard/log-chain.js';
import { CHAIN_START_CRC, crc32c, digestAfter, nextChainCrc, readerOf, readIntegrity, scanDigest } from '../../src/domain/integrity/index.js';
import { MemoryKv } from '../../src/domain/database/memory-kv.js';
import type { KvOp } from '../../src/domain/database/kv-view.js';
import { keyEncoder } from '../../src/domain/keys/key-encoder.js';
import type { LogEntry } from '../../src/domain/wal/log-entry.js';
import { encodeMessage } from '../../src/domain/database/message-encoding.js';
import { WriteRequest } from '../../src/domain/wire/client.js';
import { LogEntry as WireLogEntry } from '../../src/domain/wire/replication.js';
import { LogEntryValue } from '../../src/domain/wire/storage.js';
import { CONFIG, deleteBatch, openStore, populationEntries, populationSize, SHARD, type Backend } from './fixtures/range-workload.js';
import { withTempDir } from '../support/temp-dir.js';

/** Oxia's definition spelled out: CRC-32C over the encoded message from the previous value, then masked. */
function oxiaChainCrc(previous: number, entry: LogEntry): number {
  const bytes = WireLogEntry.encode({ term: entry.term, offset: entry.offset, value: Buffer.from(entry.value), timestamp: entry.timestamp }).finish();
  const c = crc32c(bytes, previous);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

const entryAt = (offset: bigint, value: string, term = 3n, timestamp = 1_700_000_000_000n + offset): LogEntry => ({
  term,
  offset,
  value: Buffer.from(value),
  timestamp,
});

test('CRC-32C is the Castagnoli CRC (check value of "123456789")', () => {
  assert.is(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.is(crc32c(Buffer.from('6789'), crc32c(Buffer.from('12345'))), 0xe3069283, 'continues from a previous value');
});

test('CRC-32C eight bytes at a time equals the bitwise definition, at every length and alignment', () => {
  const bitwise = (bytes: Uint8Array, crc: number): number => {
    let c = ~crc >>> 0;
    for (const b of bytes) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const data = Buffer.alloc(300);
  for (let i = 0; i < data.length; i++) data[i] = (i * 151 + 17) & 0xff;
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= data.length; end += end < 40 ? 1 : 37) {
      const slice = data.subarray(start, end);
      assert.is(crc32c(slice, 0x1234abcd), bitwise(slice, 0x1234abcd), `bytes ${start}..${end}`);
    }
  }
});

test('the digest after ops equals a full scan of the result, keys repeated or not, in key order or not', async () => {
  const key = (i: number) => Buffer.from(`k${i % 10}${i}`);
  const cases: Record<string, KvOp[]> = {
    'ascending, each key once': Array.from({ length: 20 }, (_, i) => ({ type: 'put', key: Buffer.from(`a${String(i).padStart(3, '0')}`), value: Buffer.from(`v${i}`) })),
    'descending, each key once': Array.from({ length: 20 }, (_, i) => ({ type: 'put', key: Buffer.from(`a${String(40 - i).padStart(3, '0')}`), value: Buffer.from(`w${i}`) })),
    'keys repeated': Array.from({ length: 40 }, (_, i): KvOp => (i % 7 === 3 ? { type: 'del', key: key(i % 12) } : { type: 'put', key: key(i % 12), value: Buffer.from(`x${i}`) })),
    'ascending with a repeat at the end': [
      { type: 'put', key: Buffer.from('a001'), value: Buffer.from('1') },
      { type: 'put', key: Buffer.from('a002'), value: Buffer.from('2') },
      { type: 'put', key: Buffer.from('a002'), value: Buffer.from('3') },
    ],
  };
  for (const [name, ops] of Object.entries(cases)) {
    const kv = new MemoryKv();
    kv.write(Array.from({ length: 30 }, (_, i): KvOp => ({ type: 'put', key: i < 15 ? key(i) : Buffer.from(`a${String(i).padStart(3, '0')}`), value: Buffer.from(`old${i}`) })));
    const digest = await digestAfter(await scanDigest(kv), readerOf(kv), ops);
    kv.write(ops);
    assert.is(digest, await scanDigest(kv), name);
  }
});

test("the chain value is Oxia's: over the LogEntry message as encoded, zero fields left out", () => {
  const entries = [
    entryAt(0n, '', 0n, 0n),
    entryAt(1n, 'a', 1n, 0n),
    entryAt(2n, 'x'.repeat(300), 1n),
    entryAt(300n, 'value', 9_000_000_000n, 2n ** 63n - 1n),
  ];
  let ours = CHAIN_START_CRC;
  let theirs = CHAIN_START_CRC;
  for (const e of entries) {
    ours = nextChainCrc(ours, e);
    theirs = oxiaChainCrc(theirs, e);
    assert.is(ours, theirs, `entry ${e.offset}`);
  }
});

test('a different byte anywhere in an entry changes its chain value and every later one', () => {
  const a = [entryAt(0n, 'one'), entryAt(1n, 'two'), entryAt(2n, 'three')];
  const b = [a[0]!, entryAt(1n, 'twO'), a[2]!];
  const chain = (es: LogEntry[]) => es.reduce<number[]>((acc, e) => [...acc, nextChainCrc(acc.at(-1) ?? CHAIN_START_CRC, e)], []);
  const [ca, cb] = [chain(a), chain(b)];
  assert.is(ca[0], cb[0]);
  assert.is.not(ca[1], cb[1]);
  assert.is.not(ca[2], cb[2], 'the chain carries the difference on');
  assert.is.not(nextChainCrc(0, entryAt(0n, 'v', 1n)), nextChainCrc(0, entryAt(0n, 'v', 2n)), 'the term is covered');
  assert.is.not(nextChainCrc(0, entryAt(0n, 'v', 1n, 5n)), nextChainCrc(0, entryAt(0n, 'v', 1n, 6n)), 'the timestamp is covered');
});

async function applyIn(kv: KvStore, entries: DecodedEntry[], batchSize: number, chunkKeys?: number): Promise<void> {
  for (let i = 0; i < entries.length; i += batchSize) await applyBatch(kv, CONFIG, entries.slice(i, i + batchSize), chunkKeys);
}

function shardEntries(records: number): DecodedEntry[] {
  return [...populationEntries(records), ...deleteBatch(populationSize(records))];
}

test('a SQLite and a LevelDB replica of one shard have the same chain value and digest, whatever the batching (real files)', async () => {
  await withTempDir('integrity', async (dir) => {
    const entries = shardEntries(2500);
    const stores: Record<Backend, KvStore> = {
      sqlite: await openStore('sqlite', join(dir, 'sqlite')),
      level: await openStore('level', join(dir, 'level')),
    };
    try {
      // One entry per batch on SQLite; all at once on LevelDB, its delete range written in chunks.
      await applyIn(stores.sqlite, entries, 1);
      await applyIn(stores.level, entries, entries.length, 64);
      const [s, l] = [await readIntegrity(stores.sqlite), await readIntegrity(stores.level)];
      assert.ok(s && l);
      assert.is(s.offset, entries.at(-1)!.entry.offset);
      assert.equal(l, s, 'the same integrity record');
      let chain = CHAIN_START_CRC;
      for (const e of entries) chain = nextChainCrc(chain, e.entry);
      assert.is(s.crc, chain, 'the chain value of the last applied entry');
      assert.is(await scanDigest(stores.sqlite), s.digest, 'the kept digest is the digest of the records (SQLite)');
      assert.is(await scanDigest(stores.level), s.digest, 'the kept digest is the digest of the records (LevelDB)');
      assert.is.not(s.digest, 0n);
    } finally {
      await stores.sqlite.close();
      await stores.level.close();
    }
  });
});

test('a replica that applied one different entry, or whose record changed on disk, has another digest', async () => {
  await withTempDir('integrity', async (dir) => {
    const entries = shardEntries(1200);
    const reference = await openStore('sqlite', join(dir, 'a'));
    const other = await openStore('level', join(dir, 'b'));
    try {
      await applyIn(reference, entries, 10);
      // The same log but for one put's value: the entry that writes /q and /s.
      const at = Number(populationSize(1200)) - 1;
      const value: LogEntryValue = {
        value: { $case: 'requests', value: { writes: [WriteRequest.fromPartial({ puts: [{ key: '/q', value: Buffer.from('another value') }] })] } },
      };
      const original = entries[at]!.entry;
      const changed = entries.slice();
      changed[at] = { entry: { ...original, value: encodeMessage(LogEntryValue, value) }, value };
      await applyIn(other, changed, 10);
      const [a, b] = [await readIntegrity(reference), await readIntegrity(other)];
      assert.ok(a && b);
      assert.is.not(b.digest, a.digest, 'other records, another digest');
      assert.is.not(b.crc, a.crc, 'other entries, another chain value');

      // A record rewritten behind the state machine's back (as a damaged file would read).
      const key = keyEncoder('hierarchical').encode('/q');
      const stored = await reference.get(key);
      assert.ok(stored);
      const damaged = Buffer.from(stored);
      damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0x01, damaged.length - 1);
      await reference.write([{ type: 'put', key, value: damaged }]);
      assert.is.not(await scanDigest(reference), a.digest, 'the scan no longer gives the kept digest');
    } finally {
      await reference.close();
      await other.close();
    }
  });
});

test('the chain resumes after a restart from the store record and the WAL entries after it (real files)', async () => {
  await withTempDir('integrity', async (dir) => {
    const entries = shardEntries(1500);
    const walFactory = new FileWalFactory({ dir: join(dir, 'wal'), syncData: false });
    const applied = 3;
    let expected = CHAIN_START_CRC;
    for (const e of entries) expected = nextChainCrc(expected, e.entry);
    {
      const wal = await walFactory.open(SHARD);
      const kv = await openStore('sqlite', join(dir, 'db'));
      await wal.append(entries.map((e) => e.entry));
      await applyIn(kv, entries.slice(0, applied), 2);
      const chain = await LogChain.open(wal, kv);
      assert.is(chain.headOffset, entries.at(-1)!.entry.offset);
      assert.is(chain.crcAt(chain.headOffset), expected);
      await wal.close();
      await kv.close();
    }
    const wal = await walFactory.open(SHARD);
    const kv = await openStore('sqlite', join(dir, 'db'));
    try {
      const chain = await LogChain.open(wal, kv);
      assert.is(chain.crcAt(chain.headOffset), expected, 'reopened: the same value');
      const next = entryAt(chain.headOffset + 1n, 'next');
      assert.is(chain.append(next), nextChainCrc(expected, next));
      chain.truncateAfter(2n);
      assert.is(chain.headOffset, 2n);
      assert.is(chain.crcAt(3n), undefined);
      assert.is(chain.crcAt(2n), (await readIntegrity(kv))!.crc, 'the value of entry 2 is the one the store recorded');
    } finally {
      await wal.close();
      await kv.close();
    }
  });
});

test('the chain in memory forgets its oldest values past its bound, and keeps the newest right', () => {
  const chain = LogChain.at(-1n, CHAIN_START_CRC);
  let expected = CHAIN_START_CRC;
  const n = 600_000;
  for (let i = 0; i < n; i++) {
    const e = entryAt(BigInt(i), i % 2 ? 'a' : 'b');
    expected = nextChainCrc(expected, e);
    chain.append(e);
  }
  assert.is(chain.crcAt(BigInt(n - 1)), expected);
  assert.is(chain.crcAt(0n), undefined, 'the oldest values are forgotten');
  assert.is(chain.crcAt(-1n), undefined);
  assert.is(chain.crcAt(BigInt(n)), undefined, 'nothing past the head');
});

test('aligned with a log that ends earlier the chain is cut back; with one it cannot describe, it becomes unknown', () => {
  const chain = LogChain.at(-1n, CHAIN_START_CRC);
  const values: number[] = [];
  for (let i = 0; i < 10; i++) values.push(chain.append(entryAt(BigInt(i), `v${i}`))!);
  assert.is(chain.alignTo(9n), false, 'already there');
  assert.is(chain.alignTo(6n), true);
  assert.is(chain.crcAt(6n), values[6], 'proposals that never reached the log are dropped, the rest kept');
  assert.is(chain.crcAt(7n), undefined);
  assert.is(chain.alignTo(8n), true);
  assert.is(chain.crcAt(8n), undefined, 'a head past what the chain knows: unknown');
  chain.adopt(8n, 1234);
  assert.is(chain.crcAt(8n), 1234, "an unknown chain takes the leader's value");
});

test.run();
