// The public gRPC handlers over real loopback gRPC against an in-test ClientApi (the
// subject is the adapter): WriteStream metadata, ordering and errors, ReadStream (ADR 0034),
// cancellation, backpressure, the health service, the compat service name, and shutdown.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import type { ClientApi } from '../../src/application/client-api.js';
import { OxiaError } from '../../src/domain/errors/oxia-error.js';
import {
  GetRequest,
  ListRequest,
  NotificationsRequest,
  ShardAssignmentsRequest,
  WriteRequest,
  type ListResponse,
  type ReadRequest,
  type ReadResponse,
  type NotificationBatch,
  type ShardAssignments,
  type WriteResponse,
} from '../../src/domain/wire/client.js';
import { HealthCheckResponse_ServingStatus as ServingStatus, type HealthCheckResponse } from '../../src/domain/wire/health.js';
import { HealthService, OxiaClientCompatService, OxiaClientService, OxiaTsClientService } from '../../src/adapters/grpc-protocol/service-definitions.js';
import type { ReadStreamRequest, ReadStreamResponse } from '../../src/domain/wire/client_extensions.js';
import { GrpcServer } from '../../src/adapters/grpc/grpc-server.js';
import { HealthServiceHandlers, HealthStatusBoard } from '../../src/adapters/grpc/health-service.js';
import { NO_ACCESS_POLICY } from '../../src/application/ports/access-policy-source.js';
import { AccessControlledApi } from '../../src/application/security/access-controlled-api.js';
import { OpenAuthenticator } from '../../src/application/security/open-authenticator.js';
import { PublicServiceHandlers } from '../../src/adapters/grpc/public-server.js';
import { QUEUED_MESSAGES_MAX, writeRespectingBackpressure } from '../../src/adapters/grpc/stream-writes.js';
import { ServerCallTracker } from '../../src/adapters/grpc/server-call-tracker.js';
import { parseGrpcError, parseRpcStatus } from '../../src/adapters/grpc-protocol/error-status.js';
import { PinoLogger } from '../../src/adapters/logging/pino-logger.js';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';
import { waitFor } from '../support/wait.js';

type AnyClient = grpc.Client & Record<'write' | 'writeStream' | 'list' | 'getNotifications' | 'getShardAssignments' | 'check' | 'watch' | 'readStream', (...args: any[]) => any>;

const silent = new Writable({ write: (_c, _e, done) => done() });
const notUsed = (): never => {
  throw new Error('not used by this test');
};
function fakeApi(parts: Partial<ClientApi>): ClientApi {
  return {
    watchAssignments: notUsed,
    write: notUsed,
    read: notUsed,
    list: notUsed,
    rangeScan: notUsed,
    sequenceUpdates: notUsed,
    notifications: notUsed,
    createSession: notUsed,
    keepAlive: notUsed,
    closeSession: notUsed,
    copyShard: notUsed,
    shardNamespace: (_shard, namespace) => ({ namespace: namespace ?? 'default', keySorting: 'hierarchical' }),
    ...parts,
  };
}

interface Harness {
  metrics: PromMetrics;
  client: AnyClient;
  compat: AnyClient;
  extensions: AnyClient;
  health: AnyClient;
  board: HealthStatusBoard;
  server: GrpcServer;
  close(): Promise<void>;
}
const open: Harness[] = [];

async function serve(api: ClientApi, shutdownTimeoutMs = 10_000): Promise<Harness> {
  const logger = new PinoLogger({ level: 'error', destination: silent });
  const tracker = new ServerCallTracker();
  const metrics = new PromMetrics();
  const server = new GrpcServer({ bind: { host: '127.0.0.1', port: 0 }, receiveMessageSizeBytesMax: 1 << 20, shutdownTimeoutMs, name: 'test' }, tracker, logger, metrics);
  const board = new HealthStatusBoard();
  const publicHandlers = new PublicServiceHandlers(new AccessControlledApi(api, NO_ACCESS_POLICY), new OpenAuthenticator(), tracker, logger, metrics);
  const handlers = publicHandlers.implementation();
  server.addService(OxiaClientService, handlers);
  server.addService(OxiaClientCompatService, handlers);
  server.addService(OxiaTsClientService, publicHandlers.extensionImplementation());
  server.addService(HealthService, new HealthServiceHandlers(board, tracker, logger).implementation());
  const { port } = await server.listen();
  const make = (def: grpc.ServiceDefinition) =>
    new (grpc.makeGenericClientConstructor(def, 'x'))(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as AnyClient;
  const h: Harness = {
    metrics,
    client: make(OxiaClientService),
    compat: make(OxiaClientCompatService),
    extensions: make(OxiaTsClientService),
    health: make(HealthService),
    board,
    server,
    async close() {
      for (const c of [h.client, h.compat, h.extensions, h.health]) c.close();
      await server.close();
    },
  };
  open.push(h);
  return h;
}

test.after.each(async () => {
  for (const h of open.splice(0)) await h.close();
});

/** A promise with its resolvers, for a core whose answers the test releases. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function writeStreamMetadata(entries: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) md.set(k, v);
  return md;
}

function streamError(call: grpc.ClientDuplexStream<any, any> | grpc.ClientReadableStream<any>): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) => {
    call.on('data', () => {});
    call.on('error', resolve);
    call.on('end', () => reject(new Error('ended without an error')));
  });
}

test('WriteStream without usable shard-id or namespace metadata is INVALID_ARGUMENT', async () => {
  const h = await serve(fakeApi({ write: async () => ({ puts: [], deletes: [], deleteRanges: [] }) }));
  const cases: [Record<string, string>, RegExp][] = [
    [{ namespace: 'default' }, /'shard-id'/],
    [{ 'shard-id': 'abc', namespace: 'default' }, /'shard-id'.*decimal/],
    [{ 'shard-id': '99999999999999999999', namespace: 'default' }, /'shard-id'/],
    [{ 'shard-id': '1' }, /'namespace'/],
    [{ 'shard-id': '1', namespace: '' }, /'namespace'/],
  ];
  for (const [md, message] of cases) {
    const call = h.client.writeStream(writeStreamMetadata(md));
    const error = await streamError(call);
    assert.is(error.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(md));
    assert.match(error.details, message);
    assert.is(parseGrpcError(error).kind, 'InvalidArgument');
  }
});

test('WriteStream answers in request order though the core finishes out of order', async () => {
  const pending: { shard: bigint; namespace: string | undefined; key: string; answer: ReturnType<typeof deferred<WriteResponse>> }[] = [];
  const h = await serve(
    fakeApi({
      write(shard, request, namespace) {
        const answer = deferred<WriteResponse>();
        pending.push({ shard, namespace, key: request.puts[0]?.key ?? '', answer });
        return answer.promise;
      },
    }),
  );
  const call = h.client.writeStream(writeStreamMetadata({ 'shard-id': '5', namespace: 'ns1' }));
  const received: string[] = [];
  call.on('data', (r: WriteResponse) => received.push(r.puts[0]?.key ?? ''));
  const ended = new Promise<void>((resolve, reject) => {
    call.on('end', resolve);
    call.on('error', reject);
  });
  ended.catch(() => {}); // awaited below; a failed assertion before must not crash the file
  const n = 20;
  for (let i = 0; i < n; i++) call.write(WriteRequest.fromPartial({ puts: [{ key: `k${i}`, value: Buffer.from('v') }] }));
  await waitFor(() => pending.length === n, 'all writes submitted before any is answered (pipelining)');
  assert.ok(pending.every((p) => p.shard === 5n && p.namespace === 'ns1'), 'shard and namespace come from the metadata');
  for (const p of [...pending].reverse()) p.answer.resolve({ puts: [{ status: 0, key: p.key }], deletes: [], deleteRanges: [] });
  call.end();
  await ended;
  assert.equal(received, Array.from({ length: n }, (_, i) => `k${i}`));
});

test('a failing write ends the WriteStream with its status after the earlier answers', async () => {
  let count = 0;
  const h = await serve(
    fakeApi({
      async write() {
        if (++count === 3) throw new OxiaError('NodeIsNotLeader', 'moved', { shard: 1n, leader: 'other:6648' });
        return { puts: [], deletes: [], deleteRanges: [] };
      },
    }),
  );
  const call = h.client.writeStream(writeStreamMetadata({ 'shard-id': '1', namespace: 'default' }));
  let answers = 0;
  const error = await new Promise<grpc.ServiceError>((resolve, reject) => {
    call.on('data', () => answers++);
    call.on('error', resolve);
    call.on('end', () => reject(new Error('ended without an error')));
    for (let i = 0; i < 5; i++) call.write(WriteRequest.fromPartial({}));
  });
  assert.is(answers, 2);
  assert.is(error.code, grpc.status.ABORTED);
  assert.equal(parseGrpcError(error).leaderHint, { shard: 1n, leader: 'other:6648' });
});

test('undecodable request bytes are INVALID_ARGUMENT, not INTERNAL; in a WriteStream after the earlier answers', async () => {
  const h = await serve(fakeApi({ write: async () => ({ puts: [], deletes: [], deleteRanges: [] }) }));
  const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
  const rawDef = {
    write: { ...OxiaClientService.write, requestSerialize: (b: Buffer) => b },
    writeStream: { ...OxiaClientService.writeStream, requestSerialize: (b: Buffer) => b },
  };
  const raw = new (grpc.makeGenericClientConstructor(rawDef, 'raw'))(h.server.boundAddress().host + ':' + h.server.boundAddress().port, grpc.credentials.createInsecure()) as unknown as AnyClient;
  try {
    const unary = await new Promise<grpc.ServiceError>((resolve, reject) =>
      raw.write(garbage, (e: grpc.ServiceError | null) => (e ? resolve(e) : reject(new Error('accepted garbage')))),
    );
    assert.is(unary.code, grpc.status.INVALID_ARGUMENT);
    assert.match(unary.details, /malformed request/);

    const call = raw.writeStream(writeStreamMetadata({ 'shard-id': '0', namespace: 'default' }));
    let answers = 0;
    const error = await new Promise<grpc.ServiceError>((resolve, reject) => {
      call.on('data', () => answers++);
      call.on('error', resolve);
      call.on('end', () => reject(new Error('ended without an error')));
      call.write(Buffer.from(WriteRequest.encode(WriteRequest.fromPartial({})).finish()));
      call.write(garbage);
    });
    assert.is(answers, 1);
    assert.is(error.code, grpc.status.INVALID_ARGUMENT);
    assert.is(parseGrpcError(error).kind, 'InvalidArgument');
  } finally {
    raw.close();
  }
});

test('requests over the receive size limit are refused by gRPC itself (RESOURCE_EXHAUSTED)', async () => {
  let reached = false;
  const h = await serve(
    fakeApi({
      async write() {
        reached = true;
        return { puts: [], deletes: [], deleteRanges: [] };
      },
    }),
  );
  const big = WriteRequest.fromPartial({ shard: 0n, puts: [{ key: '/k', value: Buffer.alloc((1 << 20) + 1) }] });
  const error = await new Promise<grpc.ServiceError>((resolve, reject) =>
    h.client.write(big, (e: grpc.ServiceError | null) => (e ? resolve(e) : reject(new Error('accepted')))),
  );
  assert.is(error.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.is(reached, false, 'the core never saw it');
});

test('a call that ignores shutdown is cut off at the deadline', async () => {
  let started = false;
  const h = await serve(
    fakeApi({
      write() {
        started = true;
        return new Promise<WriteResponse>(() => {}); // never answers
      },
    }),
    300,
  );
  const outcome = new Promise<grpc.ServiceError | null>((resolve) => h.client.write(WriteRequest.fromPartial({ shard: 0n }), (e: grpc.ServiceError | null) => resolve(e)));
  await waitFor(() => started, 'the write reached the core');
  const t0 = Date.now();
  await h.server.close();
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 250, `waited for the deadline (${elapsed} ms)`);
  assert.ok(elapsed < 10_000, `then forced (${elapsed} ms)`);
  const error = await outcome;
  assert.ok(error, 'the client got an error, not an answer');
});

test('the compat service name (io.streamnative.oxia.proto) serves the same API', async () => {
  const h = await serve(fakeApi({ write: async (shard) => ({ puts: [{ status: 0, key: `shard-${shard}` }], deletes: [], deleteRanges: [] }) }));
  const response = await new Promise<WriteResponse>((resolve, reject) =>
    h.compat.write(WriteRequest.fromPartial({ shard: 9n }), (e: grpc.ServiceError | null, r: WriteResponse) => (e ? reject(e) : resolve(r))),
  );
  assert.is(response.puts[0]?.key, 'shard-9');
  const { body } = await h.metrics.exposition();
  const labels = 'grpc_type="unary",grpc_service="io.oxia.proto.v1.OxiaClient",grpc_method="Write"';
  assert.match(body, `grpc_server_started_total{${labels}} 1`);
  assert.match(body, `grpc_server_handled_total{${labels},grpc_code="OK"} 1`);
  assert.match(body, `grpc_server_msg_received_total{${labels}} 1`);
  assert.match(body, `grpc_server_msg_sent_total{${labels}} 1`);
  assert.match(body, `grpc_server_handling_seconds_count{${labels}} 1`);
  assert.not.match(body, 'oxia_grpc_server_handled_total', 'renamed, not exported twice (ADR 0026)');
});

test('a client cancelling a stream aborts the signal the core got', async () => {
  let signal: AbortSignal | undefined;
  const h = await serve(
    fakeApi({
      async *notifications(_request, s): AsyncIterable<NotificationBatch> {
        signal = s;
        yield { shard: 0n, offset: 1n, timestamp: 0n, notifications: [] };
        await new Promise<void>((resolve) => s.addEventListener('abort', () => resolve(), { once: true }));
      },
    }),
  );
  const call = h.client.getNotifications(NotificationsRequest.fromPartial({ shard: 0n }));
  call.on('error', () => {});
  await new Promise<void>((resolve) => call.once('data', () => resolve()));
  assert.ok(signal && !signal.aborted);
  call.cancel();
  await waitFor(() => signal?.aborted === true, 'the core sees the cancellation');
});

test('a slow reader holds the producer back (write() returning false is respected)', async () => {
  const total = 2_000;
  const size = 16 * 1024;
  let produced = 0;
  const h = await serve(
    fakeApi({
      async *list(): AsyncIterable<ListResponse> {
        for (let i = 0; i < total; i++) {
          produced++;
          yield { keys: [String(i).padStart(size, '0')] };
        }
      },
    }),
  );
  const call: grpc.ClientReadableStream<ListResponse> = h.client.list(ListRequest.fromPartial({ shard: 0n }));
  let received = 0;
  call.on('data', () => {
    received++;
    if (received === 1) call.pause();
  });
  const done = new Promise<void>((resolve, reject) => {
    call.on('end', resolve);
    call.on('error', reject);
  });
  done.catch(() => {}); // awaited below; a failed assertion before must not crash the file
  // Wait until production stops growing while the client reads nothing.
  let last = -1;
  await waitFor(() => {
    const stalled = produced === last && produced > 1;
    last = produced;
    return stalled;
  }, 'the producer stalls behind the paused reader', 15_000, 200);
  assert.ok(produced < total / 2, `production stalled at ${produced} of ${total} messages`);
  call.resume();
  await done;
  assert.is(received, total);
});

test('a writer waits once a stream holds a couple of messages, not its whole 16-message buffer', async () => {
  // An object-mode stream as grpc-js's, whose messages go out only when the test says so.
  const sending: Array<() => void> = [];
  const stream = new Writable({ objectMode: true, write: (_m, _e, sent) => void sending.push(sent) });
  const signal = new AbortController().signal;
  const settled: boolean[] = [];
  const write = (i: number): Promise<void> => writeRespectingBackpressure(stream, i, signal).then(() => void (settled[i] = true));
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  const writes: Promise<void>[] = [];
  for (let i = 0; i < QUEUED_MESSAGES_MAX; i++) writes.push(write(i));
  await turn();
  assert.equal(settled.slice(0, QUEUED_MESSAGES_MAX - 1), Array(QUEUED_MESSAGES_MAX - 1).fill(true), 'below the bound a write returns at once');
  assert.not.ok(settled[QUEUED_MESSAGES_MAX - 1], `with ${QUEUED_MESSAGES_MAX} messages held, the writer waits`);
  sending.shift()!();
  await turn();
  assert.not.ok(settled[QUEUED_MESSAGES_MAX - 1], 'an earlier message going out is not enough');
  while (sending.length > 0) sending.shift()!();
  await Promise.all(writes);
  assert.is(stream.writableLength, 0);
});

test('health: NOT_SERVING until set, unknown services NOT_FOUND, Watch follows changes', async () => {
  const h = await serve(fakeApi({}));
  const check = (service: string) =>
    new Promise<HealthCheckResponse>((resolve, reject) =>
      h.health.check({ service }, (e: grpc.ServiceError | null, r: HealthCheckResponse) => (e ? reject(e) : resolve(r))),
    );
  assert.is((await check('')).status, ServingStatus.NOT_SERVING);
  const unknown = await check('no.such.Service').then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  assert.is(unknown?.code, grpc.status.NOT_FOUND);

  const seen: ServingStatus[] = [];
  const watch = h.health.watch({ service: 'io.oxia.proto.v1.OxiaClient' });
  watch.on('data', (r: HealthCheckResponse) => seen.push(r.status));
  watch.on('error', () => {});
  await waitFor(() => seen.length === 1, 'the current status');
  h.board.setAll(ServingStatus.SERVING);
  await waitFor(() => seen.length === 2, 'the change');
  assert.equal(seen, [ServingStatus.NOT_SERVING, ServingStatus.SERVING]);
  for (const service of ['', 'io.oxia.proto.v1.OxiaClient', 'io.streamnative.oxia.proto.OxiaClient', 'oxia-readiness']) {
    assert.is((await check(service)).status, ServingStatus.SERVING, service);
  }
  watch.cancel();
});

test('shutdown ends endless streams at once (UNAVAILABLE) and still answers accepted writes', async () => {
  const answer = deferred<WriteResponse>();
  let writes = 0;
  const h = await serve(
    fakeApi({
      async *watchAssignments(_ns, signal): AsyncIterable<ShardAssignments> {
        yield { namespaces: {}, allowedAuthorities: [] };
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      },
      write() {
        writes++;
        return answer.promise;
      },
    }),
    60_000,
  );
  const assignments = h.client.getShardAssignments(ShardAssignmentsRequest.fromPartial({ namespace: 'default' }));
  const assignmentsError = streamError(assignments);
  const writeStream = h.client.writeStream(writeStreamMetadata({ 'shard-id': '0', namespace: 'default' }));
  const answered: WriteResponse[] = [];
  writeStream.on('data', (r: WriteResponse) => answered.push(r));
  const writeStreamError = new Promise<grpc.ServiceError>((resolve) => writeStream.on('error', resolve));
  writeStream.write(WriteRequest.fromPartial({}));
  await waitFor(() => writes === 1, 'the write reached the core');

  const started = Date.now();
  const closed = h.server.close();
  answer.resolve({ puts: [], deletes: [], deleteRanges: [] });
  const [aErr, wErr] = await Promise.all([assignmentsError, writeStreamError]);
  await closed;
  assert.ok(Date.now() - started < 30_000, 'did not sit out the 60 s deadline');
  assert.is(aErr.code, grpc.status.UNAVAILABLE);
  assert.is(wErr.code, grpc.status.UNAVAILABLE);
  assert.is(answered.length, 1, 'the accepted write was answered before the stream ended');
});

/** A ReadStream with its answers collected and its end (OK or a status) awaited. */
function openReadStream(h: Harness) {
  const call = h.extensions.readStream() as grpc.ClientDuplexStream<ReadStreamRequest, ReadStreamResponse>;
  const answers: ReadStreamResponse[] = [];
  call.on('data', (m: ReadStreamResponse) => answers.push(m));
  const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
    call.on('error', resolve);
    call.on('end', () => resolve(undefined));
  });
  const send = (id: bigint, keys: string[]) => call.write({ id, read: { shard: 3n, gets: keys.map((key) => GetRequest.fromPartial({ key })) } });
  return { call, answers, ended, send };
}

const foundAll = (request: ReadRequest): ReadResponse => ({ gets: request.gets.map((g) => ({ status: 0, key: g.key, value: Buffer.from(g.key) })) });

test('ReadStream answers each request under its id, out of order and in parts; a failed one fails alone', async () => {
  const pending = new Map<string, ReturnType<typeof deferred<void>>>();
  const h = await serve(
    fakeApi({
      async *read(shard, request): AsyncIterable<ReadResponse> {
        assert.is(shard, 3n);
        const first = request.gets[0]!.key;
        const gate = deferred<void>();
        pending.set(first, gate);
        await gate.promise;
        if (first === 'moved') throw new OxiaError('NodeIsNotLeader', 'moved away', { shard: 3n, leader: 'other:6648' });
        // Two messages for a two-key read, as a Read call would stream them.
        for (const g of request.gets) yield foundAll({ shard, gets: [g] });
      },
    }),
  );
  const s = openReadStream(h);
  s.send(1n, ['a']);
  s.send(2n, ['b', 'c']);
  s.send(3n, ['moved']);
  await waitFor(() => pending.size === 3, 'all three requests being answered at once');
  for (const k of ['moved', 'b', 'a']) pending.get(k)!.resolve();
  await waitFor(() => s.answers.filter((a) => a.last).length === 3, 'three last answers');
  const byId = (id: bigint) => s.answers.filter((a) => a.id === id);
  assert.equal(byId(1n).map((a) => [a.response?.gets.map((g) => g.key), a.last]), [[['a'], true]]);
  assert.equal(byId(2n).map((a) => [a.response?.gets.map((g) => g.key), a.last]), [[['b'], false], [['c'], true]], 'parts in order, the last marked');
  const failed = byId(3n);
  assert.is(failed.length, 1);
  assert.is(failed[0]!.response, undefined);
  const parsed = parseRpcStatus(failed[0]!.status!);
  assert.is(parsed.code, grpc.status.ABORTED);
  assert.is(parsed.kind, 'NodeIsNotLeader');
  assert.equal(parsed.leaderHint, { shard: 3n, leader: 'other:6648' });
  assert.is(s.answers.indexOf(failed[0]!) < s.answers.indexOf(byId(1n)[0]!), true, 'answers go out as they are ready');
  s.send(4n, ['later']);
  pending.delete('later');
  await waitFor(() => pending.has('later'), 'the stream still takes requests after a failed one');
  pending.get('later')!.resolve();
  s.call.end();
  assert.is(await s.ended, undefined, 'a half-closed stream ends OK once its answers are out');
  assert.ok(byId(4n).some((a) => a.last), 'the request outstanding at the half-close was answered');
});

test('ReadStream: undecodable request bytes end it INVALID_ARGUMENT; a request without a read fails alone', async () => {
  const h = await serve(fakeApi({ read: async function* (shard, request) { yield foundAll({ shard, gets: request.gets }); } }));
  const s = openReadStream(h);
  s.call.write({ id: 9n });
  await waitFor(() => s.answers.length === 1, 'the answer to the empty request');
  assert.is(s.answers[0]!.id, 9n);
  assert.is(parseRpcStatus(s.answers[0]!.status!).kind, 'InvalidArgument');
  assert.match(s.answers[0]!.status!.message, /request 9 has no read/);
  s.send(10n, ['k']);
  await waitFor(() => s.answers.length === 2, 'the stream went on');
  assert.equal(s.answers[1]!.response?.gets.map((g) => g.key), ['k']);

  const rawDef = { readStream: { ...OxiaTsClientService.readStream, requestSerialize: (b: Buffer) => b } };
  const raw = new (grpc.makeGenericClientConstructor(rawDef, 'raw'))(h.client.getChannel().getTarget().replace(/^dns:/, ''), grpc.credentials.createInsecure()) as unknown as AnyClient;
  try {
    const call = raw.readStream() as grpc.ClientDuplexStream<Buffer, ReadStreamResponse>;
    const error = streamError(call);
    call.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    const e = await error;
    assert.is(e.code, grpc.status.INVALID_ARGUMENT);
    assert.match(e.details, /malformed request message/);
  } finally {
    raw.close();
  }
  s.call.end();
  assert.is(await s.ended, undefined);
});

test('ReadStream: shutdown ends it at once (UNAVAILABLE), so the client retries what was outstanding', async () => {
  let reads = 0;
  const h = await serve(
    fakeApi({
      async *read(_shard, _request, signal): AsyncIterable<ReadResponse> {
        reads++;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      },
    }),
    60_000,
  );
  const s = openReadStream(h);
  s.send(1n, ['a']);
  await waitFor(() => reads === 1, 'the read reached the core');
  const started = Date.now();
  await h.server.close();
  const e = await s.ended;
  assert.ok(Date.now() - started < 30_000, 'did not sit out the 60 s deadline');
  assert.is(e?.code, grpc.status.UNAVAILABLE);
  assert.is(s.answers.length, 0);
});

test.run();
