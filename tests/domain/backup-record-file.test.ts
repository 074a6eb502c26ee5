// The framing of a backup's shard file (ADR 0030): records round-trip in order, and a cut or
// garbled file is a RecordFileError naming the record, never a silently shorter list.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { frameRecord, readRecordFile, RecordFileError } from '../../src/domain/backup/record-file.js';
import type { BackupRecord } from '../../src/domain/wire/backup.js';

const S = suite('backup record file');

const record = (key: string, extra: Partial<BackupRecord> = {}): BackupRecord => ({
  key,
  value: Buffer.from(`value of ${key}`),
  secondaryIndexes: [],
  versionId: 1n,
  modificationsCount: 0n,
  createdTimestamp: 5n,
  modifiedTimestamp: 6n,
  ephemeral: false,
  ...extra,
});
const file = (records: BackupRecord[]) => Buffer.concat(records.map(frameRecord));

S('records round-trip in order, with partition key, indexes and empty values', () => {
  const records = [
    record('/a', { partitionKey: 'p', secondaryIndexes: [{ indexName: 'i', secondaryKey: 'x' }, { indexName: 'i', secondaryKey: 'y' }] }),
    record('/b', { value: Buffer.alloc(0) }),
    record('/c', { ephemeral: true }),
  ];
  const back = [...readRecordFile(file(records))];
  assert.equal(back.map((r) => [r.key, r.partitionKey, r.secondaryIndexes, Buffer.from(r.value).toString(), r.ephemeral]), records.map((r) => [r.key, r.partitionKey, r.secondaryIndexes, Buffer.from(r.value).toString(), r.ephemeral]));
  assert.equal([...readRecordFile(new Uint8Array())], []);
});

S('a file cut anywhere, or with a length beyond reason, is an error naming the record', () => {
  const bytes = file([record('/a'), record('/b')]);
  const first = frameRecord(record('/a')).length;
  for (const cut of [1, 3, first + 2, first + 6, bytes.length - 1]) {
    assert.throws(() => [...readRecordFile(bytes.subarray(0, cut))], (e: unknown) => e instanceof RecordFileError && /record [01] is cut short/.test(e.message), `cut at ${cut}`);
  }
  const huge = Buffer.from(bytes);
  huge.writeUInt32BE(0xfffffff0, first);
  assert.throws(() => [...readRecordFile(huge)], (e: unknown) => e instanceof RecordFileError && /record 1 claims/.test(e.message));
  const garbled = Buffer.concat([Buffer.from([0, 0, 0, 2, 0xff, 0xff])]);
  assert.throws(() => [...readRecordFile(garbled)], (e: unknown) => e instanceof RecordFileError && /record 0 does not decode/.test(e.message));
});

S.run();
