// The snapshot chunk format (application/shard/snapshot-format.ts): records cut into
// chunks of at most the chunk size at arbitrary points, reassembled exactly; incomplete,
// reordered or foreign snapshots are refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SNAPSHOT_CHUNK_BYTES_MAX, SNAPSHOT_FORMAT_NAME, SnapshotDecoder, SnapshotEncoder } from '../../src/application/shard/snapshot-format.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';

interface Chunk {
  name: string;
  content: Uint8Array;
  chunkIndex: number;
  chunkCount: number;
}

function encode(entries: ReadonlyArray<[Uint8Array, Uint8Array]>, chunkBytes?: number): Chunk[] {
  const encoder = new SnapshotEncoder(chunkBytes);
  const contents: Uint8Array[] = [];
  for (const [k, v] of entries) contents.push(...encoder.add(k, v));
  contents.push(encoder.finish());
  return contents.map((content, i) => ({ name: SNAPSHOT_FORMAT_NAME, content: content.slice(), chunkIndex: i, chunkCount: i === contents.length - 1 ? contents.length : 0 }));
}

function decode(chunks: readonly Chunk[]): Array<[string, string]> {
  const decoder = new SnapshotDecoder();
  const out: Array<[string, string]> = [];
  for (const c of chunks) for (const e of decoder.push(c)) out.push([Buffer.from(e.key).toString(), Buffer.from(e.value).toString()]);
  assert.ok(decoder.isComplete);
  return out;
}

const bytes = (s: string) => new Uint8Array(Buffer.from(s));

test('round trip with tiny chunks: every record split at every possible point', () => {
  const entries: Array<[Uint8Array, Uint8Array]> = [];
  for (let i = 0; i < 50; i++) entries.push([bytes(`key-${i}`), bytes('v'.repeat(i))]);
  entries.push([new Uint8Array(0), new Uint8Array(0)]);
  for (const size of [1, 2, 3, 7, 13, 64]) {
    const chunks = encode(entries, size);
    assert.ok(chunks.every((c) => c.content.length <= size));
    assert.equal(
      decode(chunks),
      entries.map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()]),
    );
  }
});

test('the default chunk is at most 256 KiB; a value larger than a chunk spans several', () => {
  const big = 'x'.repeat(2.5 * SNAPSHOT_CHUNK_BYTES_MAX);
  const chunks = encode([
    [bytes('a'), bytes('1')],
    [bytes('big'), bytes(big)],
    [bytes('z'), bytes('2')],
  ]);
  assert.is(SNAPSHOT_CHUNK_BYTES_MAX, 256 * 1024);
  assert.ok(chunks.length >= 3);
  assert.ok(chunks.every((c) => c.content.length <= SNAPSHOT_CHUNK_BYTES_MAX));
  const out = decode(chunks);
  assert.equal(out.map(([k]) => k), ['a', 'big', 'z']);
  assert.is(out[1]?.[1].length, big.length);
});

test('an empty store is one empty, final chunk', () => {
  const chunks = encode([]);
  assert.is(chunks.length, 1);
  assert.is(chunks[0]?.chunkCount, 1);
  assert.equal(decode(chunks), []);
});

test('out of order, foreign, cut and overlong snapshots are refused', () => {
  const chunks = encode([[bytes('k'), bytes('v'.repeat(100))]], 16);
  const refuse = (run: () => void, pattern: RegExp) => {
    try {
      run();
    } catch (e) {
      assert.ok(isOxiaError(e, 'InvalidArgument'), String(e));
      assert.match((e as Error).message, pattern);
      return;
    }
    assert.unreachable('accepted');
  };
  refuse(() => new SnapshotDecoder().push(chunks[1]!), /expected/);
  refuse(() => new SnapshotDecoder().push({ ...chunks[0]!, name: 'pebble-sst' }), /format/);
  refuse(() => {
    const d = new SnapshotDecoder();
    d.push(chunks[0]!);
    d.push({ ...chunks[1]!, chunkCount: 2 }); // says it is the last, but the record is unfinished
  }, /inside a record/);
  refuse(() => {
    const d = new SnapshotDecoder();
    for (const c of chunks) d.push(c);
    d.push({ ...chunks[0]!, chunkIndex: chunks.length });
  }, /after the last/);
  const partial = new SnapshotDecoder();
  partial.push(chunks[0]!);
  assert.not.ok(partial.isComplete);
});

test.run();
