// The client's read batches on one ReadStream per server (ADR 0034), against scripted servers
// on loopback: answers matched by id, a failed request failing alone with its Oxia error, a
// failed stream failing its reads (retried on a new stream), abort and close, the fallback to
// Read calls on a server without ReadStream, and Read calls when credentials are asked per call.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { OxiaClientService, OxiaTsClientService } from '../../../src/adapters/grpc-protocol/service-definitions.js';
import { ErrorInfo } from '../../../src/domain/wire/rpc_status.js';
import { GetRequest, Status, type GetResponse, type ReadRequest, type ReadResponse } from '../../../src/domain/wire/client.js';
import type { ReadStreamRequest, ReadStreamResponse } from '../../../src/domain/wire/client_extensions.js';
import { OxiaClient, TokenAuthentication } from '../../../src/adapters/client/index.js';
import { GrpcTransport } from '../../../src/adapters/client/grpc/grpc-transport.js';
import { RpcError } from '../../../src/adapters/client/internal/rpc-error.js';
import { rejects } from '../support/fake-client.js';
import { waitFor } from '../../support/wait.js';
import { assignmentsFor, listen, okVersion, oxiaClientImplementation } from '../support/scripted-server.js';

type ReadStreamCall = grpc.ServerDuplexStream<ReadStreamRequest, ReadStreamResponse>;

interface Scripted {
  readonly address: string;
  /** ReadStream calls opened, in order. */
  readonly streams: ReadStreamCall[];
  /** Requests received on any ReadStream. */
  readonly streamed: ReadStreamRequest[];
  /** Read calls received. */
  readonly readCalls: ReadRequest[];
  close(): void;
}

const found = (key: string): GetResponse => ({ status: Status.OK, version: okVersion, value: Buffer.from(`value of ${key}`), key, secondaryIndexKey: undefined });
const answersTo = (request: ReadRequest | undefined): ReadResponse => ({ gets: (request?.gets ?? []).map((g) => found(g.key)) });

/**
 * A server with OxiaClient's assignments and Read, and (unless `withReadStream` is false)
 * ReadStream, answering each request by `onStreamed` (default: every get found at once).
 */
async function serve(options: { withReadStream?: boolean; onStreamed?: (call: ReadStreamCall, request: ReadStreamRequest) => void } = {}): Promise<Scripted> {
  const server = new grpc.Server();
  const streams: ReadStreamCall[] = [];
  const streamed: ReadStreamRequest[] = [];
  const readCalls: ReadRequest[] = [];
  let address = '';
  server.addService(
    OxiaClientService,
    oxiaClientImplementation({
      getShardAssignments: assignmentsFor(() => address),
      read: ((call: grpc.ServerWritableStream<ReadRequest, ReadResponse>) => {
        readCalls.push(call.request);
        call.write(answersTo(call.request));
        call.end();
      }) as grpc.UntypedHandleCall,
    }),
  );
  if (options.withReadStream !== false) {
    const onStreamed = options.onStreamed ?? ((call, request) => call.write({ id: request.id, response: answersTo(request.read), last: true }));
    server.addService(OxiaTsClientService, {
      readStream: ((call: ReadStreamCall) => {
        streams.push(call);
        call.on('data', (request: ReadStreamRequest) => {
          streamed.push(request);
          onStreamed(call, request);
        });
        call.on('end', () => call.end());
        call.on('error', () => {});
      }) as grpc.UntypedHandleCall,
    });
  }
  address = await listen(server);
  return { address, streams, streamed, readCalls, close: () => server.forceShutdown() };
}

const read = (keys: string[]): ReadRequest => ({ shard: 0n, gets: keys.map((key) => GetRequest.fromPartial({ key, includeValue: true })) });
const keysOf = (gets: GetResponse[]) => gets.map((g) => g.key);

function notLeaderStatus(leader: string) {
  const info = ErrorInfo.encode({ reason: 'NODE_IS_NOT_LEADER', domain: 'oxia.io', metadata: { shard: '0', leader } }).finish();
  return { code: grpc.status.ABORTED, message: 'node is not leader for shard 0', details: [{ typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: Buffer.from(info) }] };
}

test('reads to one server share one stream; answers in parts and out of order reach the right caller', async () => {
  const held: ReadStreamRequest[] = [];
  const s = await serve({ onStreamed: (_call, request) => held.push(request) });
  const transport = new GrpcTransport();
  try {
    const signal = new AbortController().signal;
    const reads = [read(['/a']), read(['/b', '/c']), read(['/d'])].map((r) => transport.read(s.address, r, signal));
    await waitFor(() => held.length === 3, 'three requests on the stream');
    assert.is(s.streams.length, 1, 'one stream for all reads to a server');
    assert.is(s.readCalls.length, 0);
    const call = s.streams[0]!;
    const [a, bc, d] = held as [ReadStreamRequest, ReadStreamRequest, ReadStreamRequest];
    assert.is(new Set(held.map((r) => r.id)).size, 3, 'ids are unique');
    call.write({ id: d.id, response: answersTo(d.read), last: true });
    call.write({ id: bc.id, response: { gets: [found('/b')] }, last: false });
    call.write({ id: a.id, response: answersTo(a.read), last: true });
    call.write({ id: bc.id, response: { gets: [found('/c')] }, last: true });
    const [ra, rbc, rd] = await Promise.all(reads);
    assert.equal(keysOf(ra!), ['/a']);
    assert.equal(keysOf(rbc!), ['/b', '/c'], 'parts joined in order');
    assert.equal(keysOf(rd!), ['/d']);
    const later = transport.read(s.address, read(['/e']), signal);
    await waitFor(() => held.length === 4, 'a later request on the stream');
    call.write({ id: held[3]!.id, response: answersTo(held[3]!.read), last: true });
    assert.equal(keysOf(await later), ['/e'], 'the stream stays open for later reads');
    assert.is(s.streams.length, 1);
  } finally {
    transport.close();
    s.close();
  }
});

test('a failed request fails alone, with its Oxia kind and leader hint; the stream goes on', async () => {
  const s = await serve({
    onStreamed: (call, request) => {
      if (request.read?.gets[0]?.key === '/moved') call.write({ id: request.id, status: notLeaderStatus('elsewhere:6648'), last: true });
      else call.write({ id: request.id, response: answersTo(request.read), last: true });
    },
  });
  const transport = new GrpcTransport();
  try {
    const signal = new AbortController().signal;
    const failed = transport.read(s.address, read(['/moved']), signal);
    const fine = transport.read(s.address, read(['/here']), signal);
    const e = (await rejects(() => failed, (x) => x instanceof RpcError)) as RpcError;
    assert.is(e.kind, 'NodeIsNotLeader');
    assert.equal(e.leaderHint, { shard: 0n, leader: 'elsewhere:6648' });
    assert.match(e.message, /node is not leader for shard 0/);
    assert.equal(keysOf(await fine), ['/here']);
    assert.equal(keysOf(await transport.read(s.address, read(['/later']), signal)), ['/later']);
    assert.is(s.streams.length, 1, 'one failed request does not end the stream');
  } finally {
    transport.close();
    s.close();
  }
});

test('a stream that fails fails its outstanding reads; the client retries them on a new stream', async () => {
  let first = true;
  const s = await serve({
    onStreamed: (call, request) => {
      if (first) {
        first = false;
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'going away' });
        return;
      }
      call.write({ id: request.id, response: answersTo(request.read), last: true });
    },
  });
  const transport = new GrpcTransport();
  try {
    const e = (await rejects(() => transport.read(s.address, read(['/x']), new AbortController().signal), (x) => x instanceof RpcError)) as RpcError;
    assert.is(e.kind, 'Unavailable');
    assert.match(e.message, /going away/);
  } finally {
    transport.close();
  }
  first = true;
  const client = await OxiaClient.connect(s.address, { logger: { warn: () => {} } });
  try {
    const before = s.streams.length;
    const r = await client.get('/y');
    assert.is(r.key, '/y');
    assert.is(s.streams.length - before, 2, 'the retry went on a second stream');
  } finally {
    await client.close();
    s.close();
  }
});

test('an aborted read rejects with its reason and its late answer is dropped; close fails what is outstanding', async () => {
  const held: ReadStreamRequest[] = [];
  const s = await serve({ onStreamed: (_call, request) => held.push(request) });
  const transport = new GrpcTransport();
  try {
    const abort = new AbortController();
    const aborted = transport.read(s.address, read(['/a']), abort.signal);
    const other = transport.read(s.address, read(['/b']), new AbortController().signal);
    await waitFor(() => held.length === 2, 'both requests on the stream');
    abort.abort(new Error('caller gave up'));
    await rejects(() => aborted, (x) => x instanceof Error && x.message === 'caller gave up');
    const call = s.streams[0]!;
    call.write({ id: held[0]!.id, response: answersTo(held[0]!.read), last: true });
    call.write({ id: held[1]!.id, response: answersTo(held[1]!.read), last: true });
    assert.equal(keysOf(await other), ['/b'], 'the late answer to the aborted read disturbs nothing');
    const outstanding = transport.read(s.address, read(['/c']), new AbortController().signal);
    await waitFor(() => held.length === 3, 'third request on the stream');
    transport.close();
    const e = (await rejects(() => outstanding, (x) => x instanceof RpcError)) as RpcError;
    assert.is(e.kind, 'Closed');
    await waitFor(() => s.streams[0]!.cancelled || s.streams[0]!.destroyed, 'the stream ended with the transport');
  } finally {
    transport.close();
    s.close();
  }
});

test('a server without ReadStream (Oxia, older oxia-ts) is read with Read calls, and asked for the stream only once', async () => {
  const s = await serve({ withReadStream: false });
  const transport = new GrpcTransport();
  try {
    const signal = new AbortController().signal;
    const first = await Promise.all([transport.read(s.address, read(['/a']), signal), transport.read(s.address, read(['/b', '/c']), signal)]);
    assert.equal(first.map(keysOf), [['/a'], ['/b', '/c']], 'the reads outstanding when UNIMPLEMENTED came went as Read calls');
    assert.equal(keysOf(await transport.read(s.address, read(['/d']), signal)), ['/d']);
    assert.is(s.readCalls.length, 3);
  } finally {
    transport.close();
    s.close();
  }
  // Counted on a server whose ReadStream answers UNIMPLEMENTED itself.
  let asked = 0;
  const counting = await serve({
    onStreamed: (call) => {
      asked++;
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'no such method' });
    },
  });
  const t2 = new GrpcTransport();
  try {
    const signal = new AbortController().signal;
    for (const k of ['/a', '/b', '/c']) assert.equal(keysOf(await t2.read(counting.address, read([k]), signal)), [k]);
    assert.is(asked, 1);
    assert.is(counting.readCalls.length, 3);
  } finally {
    t2.close();
    counting.close();
  }
});

test('with authentication, reads go as Read calls (credentials are asked per call, a stream would ask once)', async () => {
  const s = await serve();
  let tokens = 0;
  const client = await OxiaClient.connect(s.address, { authentication: new TokenAuthentication(async () => `t${++tokens}`), logger: { warn: () => {} } });
  try {
    for (const k of ['/a', '/b']) assert.is((await client.get(k)).key, k);
    assert.is(s.readCalls.length, 2);
    assert.is(s.streams.length, 0);
  } finally {
    await client.close();
    s.close();
  }
});

test.run();
