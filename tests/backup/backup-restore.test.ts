// `oxia-ts backup` and `oxia-ts restore` (ADR 0030) as operators run them (the bin, child
// processes) against real standalone servers: a backup taken while clients keep writing, each
// shard at one committed offset; restored into a server with another shard count and another
// store engine, every record acknowledged before the backup began is there with its value,
// partition key and secondary indexes; a damaged backup and a non-empty namespace are refused
// with nothing written; ephemeral records go along only when asked.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OxiaClient } from '../../src/adapters/client/index.js';
import { BackupManifest, MANIFEST_FILE } from '../../src/adapters/backup/backup-manifest.js';
import { readRecordFile } from '../../src/domain/backup/record-file.js';
import type { BackupRecord } from '../../src/domain/wire/backup.js';
import { runCli } from '../cli/support.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';
import { waitFor } from '../support/wait.js';

const S = suite('backup and restore');
const dir = mkdtempSync(join(tmpdir(), 'oxia-backup-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

let source: StandaloneProcess | undefined;
let target: StandaloneProcess | undefined;
const clients: OxiaClient[] = [];
S.after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await source?.stop();
  await target?.stop();
});

async function connect(address: string): Promise<OxiaClient> {
  const c = await OxiaClient.connect(address, { requestTimeoutMs: 30_000, logger: { warn: () => {} } });
  clients.push(c);
  return c;
}

interface Written {
  readonly value: string;
  readonly partitionKey?: string;
  readonly indexes: Record<string, string>;
}

/** The records of a backup directory, by key, read through the manifest. */
function backupRecords(backupDir: string): { manifest: BackupManifest; records: Map<string, BackupRecord> } {
  const manifest = BackupManifest.parse(JSON.parse(readFileSync(join(backupDir, MANIFEST_FILE), 'utf8')));
  const records = new Map<string, BackupRecord>();
  for (const shard of manifest.shards) for (const r of readRecordFile(readFileSync(join(backupDir, shard.file)))) records.set(r.key, r);
  return { manifest, records };
}

const LANES = 4;
const laneKey = (lane: number, seq: number) => `/load/lane-${lane}/${String(seq).padStart(6, '0')}`;

S('a backup under load, restored into a server with another shard count: every acknowledged record with its partition key and indexes', async () => {
  source = await startStandalone({ shards: 3, kv: 'sqlite' });
  target = await startStandalone({ shards: 2, kv: 'level' });
  const writer = await connect(source.address);

  // Before the load: records of every shape, and an ephemeral one (its session lives while `writer` does).
  const written = new Map<string, Written>();
  const put = async (key: string, w: Written): Promise<void> => {
    await writer.put(key, w.value, { ...(w.partitionKey !== undefined && { partitionKey: w.partitionKey }), secondaryIndexes: w.indexes });
    written.set(key, w);
  };
  for (let i = 0; i < 50; i++) await put(`/plain/${i}`, { value: `plain-${i}`, indexes: {} });
  for (let i = 0; i < 50; i++) await put(`/indexed/${i}`, { value: `indexed-${i}`, indexes: { colour: `c-${i % 7}-${i}`, size: `s-${i}` } });
  for (let i = 0; i < 50; i++) await put(`/grouped/${i}`, { value: `grouped-${i}`, partitionKey: `group-${i % 3}`, indexes: { member: `m-${i}` } });
  await writer.put('/ephemeral/one', 'gone with its session', { ephemeral: true });
  // Two secondary keys under one index name: the wire allows it, PutOptions cannot say it.
  const raw = new RawOxiaClient(source.address);
  try {
    const shard = RawOxiaClient.shardFor(await raw.shards(), '/tagged');
    await raw.put(shard, { key: '/tagged', value: Buffer.from('two tags'), secondaryIndexes: [{ indexName: 'tag', secondaryKey: 'blue' }, { indexName: 'tag', secondaryKey: 'green' }] });
  } finally {
    raw.close();
  }

  // The load: lanes writing keys in sequence, each lane on one shard (its partition key), each
  // put awaited before the next. A copy at one committed offset holds a prefix of every lane.
  let loading = true;
  const laneAcked = Array.from({ length: LANES }, () => 0);
  const lanes = Array.from({ length: LANES }, async (_, lane) => {
    for (let seq = 1; loading; seq++) {
      await put(laneKey(lane, seq), { value: `lane-${lane}-${seq}`, partitionKey: `lane-${lane}`, indexes: { seq: `lane-${lane}-${String(seq).padStart(6, '0')}` } });
      laneAcked[lane] = seq;
    }
  });
  await waitFor(() => laneAcked.every((n) => n >= 20), 'the load running on every lane', 60_000);

  // Everything acknowledged so far must be in the backup.
  const before = new Map(written);
  const ackedAtStart = laneAcked.reduce((a, b) => a + b, 0);
  const backupDir = join(dir, 'backup');
  const backup = await runCli(['backup', '-a', source.address, '--out', backupDir]);
  const ackedDuring = laneAcked.reduce((a, b) => a + b, 0) - ackedAtStart;
  loading = false;
  await Promise.all(lanes);
  assert.is(backup.code, 0, backup.stderr);
  assert.ok(ackedDuring > 0, 'writes went on while the backup ran');
  assert.match(backup.stdout, /backed up \d+ records of namespace "default" \(3 shards\)/);

  const { manifest, records } = backupRecords(backupDir);
  assert.is(manifest.namespace, 'default');
  assert.is(manifest.shards.length, 3);
  assert.is(manifest.includesEphemeral, false);
  assert.match(manifest.versions, /new version ids/);
  assert.is(manifest.records, records.size);
  const ranges = manifest.shards.map((s) => s.hashRange).sort((a, b) => a.minHashInclusive - b.minHashInclusive);
  assert.is(ranges[0]!.minHashInclusive, 0);
  assert.is(ranges[ranges.length - 1]!.maxHashInclusive, 0xffffffff, 'the hash ranges cover the hash space');
  for (const s of manifest.shards) {
    assert.ok(BigInt(s.commitOffset) >= 0n, `shard ${s.shard} names its offset`);
    assert.match(s.sha256, /^[0-9a-f]{64}$/);
  }
  assert.is(manifest.shards.reduce((n, s) => n + s.ephemeralSkipped, 0), 1, 'the ephemeral record was left out');
  assert.not.ok(records.has('/ephemeral/one'));
  // Asked for, the ephemeral record goes along, marked as such.
  const withEphemeralDir = join(dir, 'with-ephemeral');
  const withEphemeral = await runCli(['backup', '-a', source.address, '--out', withEphemeralDir, '--include-ephemeral']);
  assert.is(withEphemeral.code, 0, withEphemeral.stderr);
  const ephemeralCopy = backupRecords(withEphemeralDir);
  assert.is(ephemeralCopy.manifest.includesEphemeral, true);
  assert.is(ephemeralCopy.records.get('/ephemeral/one')?.ephemeral, true);

  for (const [key, w] of before) {
    const r = records.get(key);
    assert.ok(r, `acknowledged before the backup: ${key}`);
    assert.is(Buffer.from(r.value).toString(), w.value, key);
    assert.is(r.partitionKey, w.partitionKey, `${key}: partition key`);
    assert.equal(Object.fromEntries(r.secondaryIndexes.map((s) => [s.indexName, s.secondaryKey])), w.indexes, `${key}: indexes`);
  }
  // One committed offset per shard: each lane (one shard, writes in sequence) is a prefix.
  for (let lane = 0; lane < LANES; lane++) {
    let present = 0;
    while (records.has(laneKey(lane, present + 1))) present++;
    for (let seq = present + 1; seq <= laneAcked[lane]!; seq++) assert.not.ok(records.has(laneKey(lane, seq)), `lane ${lane}: ${seq} without ${present + 1}`);
  }

  // A damaged copy is refused whole: nothing reaches the (empty) target.
  const damagedDir = join(dir, 'damaged');
  cpSync(backupDir, damagedDir, { recursive: true });
  const victim = manifest.shards.find((s) => s.bytes > 100)!;
  const bytes = readFileSync(join(damagedDir, victim.file));
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  writeFileSync(join(damagedDir, victim.file), bytes);
  const damaged = await runCli(['restore', '-a', target.address, '--in', damagedDir]);
  assert.is(damaged.code, 1, damaged.stdout);
  assert.match(damaged.stderr, new RegExp(`damaged backup, nothing written: .*${victim.file}: checksum mismatch`));
  const reader = await connect(target.address);
  assert.equal(await reader.list('', ''), [], 'nothing was written');

  // The good copy, into two shards on LevelDB.
  const restore = await runCli(['restore', '-a', target.address, '--in', backupDir]);
  assert.is(restore.code, 0, restore.stderr);
  assert.match(restore.stdout, new RegExp(`restored ${records.size} records`));
  const restoredAt = Date.now();

  for (const [key, w] of before) {
    const got = await reader.get(key, w.partitionKey !== undefined ? { partitionKey: w.partitionKey } : {});
    assert.is(Buffer.from(got.value!).toString(), w.value, key);
    assert.is(got.version.modificationsCount, 0, `${key} is a new record`);
    assert.ok(got.version.createdTimestamp.getTime() <= restoredAt);
    for (const [index, secondaryKey] of Object.entries(w.indexes)) {
      const byIndex = await reader.get(secondaryKey, { useIndex: index, ...(w.partitionKey !== undefined && { partitionKey: w.partitionKey }) });
      assert.is(byIndex.key, key, `${key} found through index ${index}`);
    }
  }
  for (const tag of ['blue', 'green']) assert.is((await reader.get(tag, { useIndex: 'tag' })).key, '/tagged', `/tagged found by its tag ${tag}`);
  assert.equal((await reader.list('c-3-', 'c-3.', { useIndex: 'colour' })).sort(), [...before.keys()].filter((k) => k.startsWith('/indexed/') && Number(k.slice(9)) % 7 === 3).sort());

  // What the target now stores, copied again: the same records, partition keys and indexes.
  const again = join(dir, 'again');
  const second = await runCli(['backup', '-a', target.address, '--out', again]);
  assert.is(second.code, 0, second.stderr);
  const copied = backupRecords(again);
  assert.is(copied.manifest.shards.length, 2);
  assert.is(copied.records.size, records.size);
  for (const [key, r] of records) {
    const c = copied.records.get(key);
    assert.ok(c, key);
    assert.equal([Buffer.from(c.value).toString(), c.partitionKey, c.secondaryIndexes], [Buffer.from(r.value).toString(), r.partitionKey, r.secondaryIndexes], key);
  }

  // The namespace is no longer empty: a second restore is refused and writes nothing.
  const refused = await runCli(['restore', '-a', target.address, '--in', damagedDir.replace('damaged', 'backup')]);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /refused, nothing written: the namespace holds \d+ records/);
  assert.is((await reader.list('', '')).length, records.size);
});

S.run();
