// Bad input gets a clear error naming the problem, and the server keeps serving.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { OxiaClientService } from '../../src/adapters/grpc-protocol/service-definitions.js';
import { Status } from '../../src/domain/wire/client.js';
import { RawOxiaClient, errorInfo, expectGrpcError } from '../support/raw-client.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';

let server: StandaloneProcess;
let c: RawOxiaClient;

test.before(async () => {
  server = await startStandalone({ shards: 2, kv: 'sqlite', extraArgs: ['--value-size-bytes-max', '1024', '--items-per-request-max', '10'] });
  c = new RawOxiaClient(server.address);
});
test.after(async () => {
  c?.close();
  await server?.stop();
});

/** Sends raw bytes as a Write request: what a broken or hostile client might send. */
function sendRawWrite(bytes: Buffer): Promise<unknown> {
  const def = {
    write: { ...OxiaClientService.write, requestSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b },
  };
  const Ctor = grpc.makeGenericClientConstructor(def, 'Raw');
  const raw = new Ctor(server.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { write: Function };
  return new Promise((resolve, reject) =>
    raw.write(bytes, (e: grpc.ServiceError | null, r: unknown) => {
      raw.close();
      e ? reject(e) : resolve(r);
    }),
  );
}

async function stillServes(): Promise<void> {
  const shards = await c.shards();
  const k = `/alive/${Math.random()}`;
  const r = await c.put(RawOxiaClient.shardFor(shards, k), { key: k, value: Buffer.from('ok') });
  assert.is(r.puts[0]?.status, Status.OK);
}

test('a malformed protobuf message is rejected with INVALID_ARGUMENT', async () => {
  await expectGrpcError(sendRawWrite(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])), grpc.status.INVALID_ARGUMENT, /malformed|decode|invalid/i);
  await stillServes();
});

test('a value over the limit is rejected naming the limit', async () => {
  const shard = (await c.shards())[0]!.shard;
  await expectGrpcError(c.put(shard, { key: '/big', value: Buffer.alloc(2048) }), grpc.status.INVALID_ARGUMENT, /value.*(1024|limit)/i);
  await stillServes();
});

test('too many items in one request are rejected', async () => {
  const shard = (await c.shards())[0]!.shard;
  const puts = Array.from({ length: 11 }, (_, i) => ({ key: `/many/${i}`, value: Buffer.from('x'), sequenceKeyDelta: [], secondaryIndexes: [] }));
  await expectGrpcError(c.write({ shard, puts, deletes: [], deleteRanges: [] }), grpc.status.INVALID_ARGUMENT, /items|10/);
  await stillServes();
});

test('a request over the message size limit is refused and the server keeps serving', async () => {
  const shard = (await c.shards())[0]!.shard;
  await expectGrpcError(c.put(shard, { key: '/huge', value: Buffer.alloc(40 * 1024 * 1024) }), grpc.status.RESOURCE_EXHAUSTED);
  await stillServes();
});

test('WriteStream with an unknown namespace or a bad shard id', async () => {
  const shard = (await c.shards())[0]!.shard;
  const req = { puts: [{ key: '/ns', value: Buffer.from('x'), sequenceKeyDelta: [], secondaryIndexes: [] }], deletes: [], deleteRanges: [] };
  const e1 = await expectGrpcError(c.writeStream(shard, 'nope', [req]), grpc.status.NOT_FOUND, /namespace/);
  assert.is(errorInfo(e1)?.reason, 'NAMESPACE_NOT_FOUND');
  const md = new grpc.Metadata();
  md.set('shard-id', 'not-a-number');
  md.set('namespace', 'default');
  await expectGrpcError(
    new Promise((resolve, reject) => {
      const call = c.client.writeStream(md);
      call.on('data', resolve);
      call.on('error', reject);
      call.write(req);
    }),
    grpc.status.INVALID_ARGUMENT,
    /shard/,
  );
  await stillServes();
});

test('a shard the standalone server does not have is SHARD_NOT_FOUND', async () => {
  const missing = 99n;
  const req = { puts: [{ key: '/gone', value: Buffer.from('x'), sequenceKeyDelta: [], secondaryIndexes: [] }], deletes: [], deleteRanges: [] };
  const onWrite = await expectGrpcError(c.writeStream(missing, 'default', [req]), grpc.status.NOT_FOUND, /shard 99/);
  assert.is(errorInfo(onWrite)?.reason, 'SHARD_NOT_FOUND');
  const onGet = await expectGrpcError(c.get(missing, '/gone'), grpc.status.NOT_FOUND, /shard 99/);
  assert.is(errorInfo(onGet)?.reason, 'SHARD_NOT_FOUND');
  await stillServes();
});

test('inverted ranges are rejected for list, range scan and delete range', async () => {
  const shard = (await c.shards())[0]!.shard;
  await expectGrpcError(c.list(shard, '/b', '/a'), grpc.status.INVALID_ARGUMENT, /range/);
  await expectGrpcError(c.rangeScan(shard, '/b', '/a'), grpc.status.INVALID_ARGUMENT, /range/);
  await expectGrpcError(c.deleteRange(shard, '/b', '/a'), grpc.status.INVALID_ARGUMENT, /range/);
  await stillServes();
});

test('invalid session timeouts and unknown sessions', async () => {
  const shard = (await c.shards())[0]!.shard;
  const e = await expectGrpcError(c.createSession(shard, 100), grpc.status.INVALID_ARGUMENT, /timeout/);
  assert.is(errorInfo(e)?.reason, 'INVALID_SESSION_TIMEOUT');
  const nf = await expectGrpcError(c.closeSession(shard, 123456789n), grpc.status.NOT_FOUND);
  assert.is(errorInfo(nf)?.reason, 'SESSION_NOT_FOUND');
  await stillServes();
});

test.run();
