/**
 * One-process microbenchmark of the codec work a put costs outside the state machine, per
 * log entry of `--puts` puts (the bench cluster's client batches about 63 per WriteRequest):
 * the leader decodes the client's WriteRequest, encodes the LogEntryValue and the
 * WriteResponse; the replication stream encodes and decodes the Append; a follower decodes the
 * LogEntryValue to apply it; each side extends the CRC chain over the entry (ADR 0031). Steadier
 * than the cluster bench on a shared machine.
 *
 *   node --import tsx tests/bench/entry-codec.ts [--puts 63] [--rounds 20000]
 */
import { parseArgs } from 'node:util';
import { encodeMessage } from '../../src/domain/database/message-encoding.js';
import { nextChainCrc } from '../../src/domain/integrity/index.js';
import { WriteRequest, WriteResponse, type PutResponse } from '../../src/domain/wire/client.js';
import { Append } from '../../src/domain/wire/replication.js';
import { LogEntryValue } from '../../src/domain/wire/storage.js';

const { values: args } = parseArgs({ options: { puts: { type: 'string', default: '63' }, rounds: { type: 'string', default: '20000' } } });
const puts = Number(args.puts);
const rounds = Number(args.rounds);

const request: WriteRequest = {
  shard: 1n,
  puts: Array.from({ length: puts }, (_, i) => ({
    key: `key-${(i * 7919) % 1000}`,
    value: Buffer.alloc(128, i),
    sequenceKeyDelta: [],
    secondaryIndexes: [],
  })),
  deletes: [],
  deleteRanges: [],
};
const requestBytes = encodeMessage(WriteRequest, request);
const response: WriteResponse = {
  puts: Array.from({ length: puts }, (_, i): PutResponse => ({
    status: 0,
    version: { versionId: 123_456n + BigInt(i), modificationsCount: 42n, createdTimestamp: 1_733_000_000_000n, modifiedTimestamp: 1_733_000_000_123n },
    secondaryIndexes: [],
  } as unknown as PutResponse)),
  deletes: [],
  deleteRanges: [],
};

function time(name: string, step: () => unknown): void {
  for (let i = 0; i < rounds / 10; i++) step();
  const started = process.cpuUsage();
  for (let i = 0; i < rounds; i++) step();
  const used = process.cpuUsage(started);
  const usPerPut = (used.user + used.system) / rounds / puts;
  console.log(`${name.padEnd(34)} ${usPerPut.toFixed(3)} us/put`);
}

let sink: unknown;
time('leader: decode WriteRequest', () => (sink = WriteRequest.decode(requestBytes)));
const decoded = WriteRequest.decode(requestBytes);
time('leader: encode LogEntryValue', () => (sink = encodeMessage(LogEntryValue, { value: { $case: 'requests', value: { writes: [decoded] } } })));
time('leader: encode WriteResponse', () => (sink = encodeMessage(WriteResponse, response)));
const entryValue = encodeMessage(LogEntryValue, { value: { $case: 'requests', value: { writes: [decoded] } } });
const append: Append = {
  term: 5n,
  entry: { term: 5n, offset: 123_456n, value: Buffer.from(entryValue), timestamp: 1_733_000_000_000n },
  commitOffset: 123_400n,
  cumulativeAcksSupported: true,
  leaseProbeMs: 123_456.5,
  previousEntryCrc: 12345,
} as Append;
time('stream: encode Append', () => (sink = encodeMessage(Append, append)));
const appendBytes = Buffer.from(encodeMessage(Append, append));
time('follower: decode Append', () => (sink = Append.decode(appendBytes)));
const received = Append.decode(appendBytes).entry!.value;
time('follower: decode LogEntryValue', () => (sink = LogEntryValue.decode(received)));
time('either: chain CRC of the entry', () => (sink = nextChainCrc(7, append.entry!)));
void sink;
