// The gRPC transport against scripted servers on loopback: Oxia error details (reason,
// leader hint) parsed from the status trailer, WriteStream metadata, credentials per call.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { OxiaClientService } from '../../../src/adapters/grpc-protocol/service-definitions.js';
import { ErrorInfo, Status as RpcStatus } from '../../../src/domain/wire/rpc_status.js';
import { Status, type WriteRequest, type WriteResponse } from '../../../src/domain/wire/client.js';
import { OxiaClient, OxiaError, TokenAuthentication } from '../../../src/adapters/client/index.js';
import { GrpcTransport } from '../../../src/adapters/client/grpc/grpc-transport.js';
import { RpcError } from '../../../src/adapters/client/internal/rpc-error.js';
import { rejects } from '../support/fake-client.js';
import { assignmentsFor, listen, okVersion, oxiaClientImplementation, type OxiaClientHandlers } from '../support/scripted-server.js';

function oxiaStatus(code: grpc.status, reason: string, details: string, meta: Record<string, string> = {}): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  const info = ErrorInfo.encode({ reason, domain: 'oxia.io', metadata: meta }).finish();
  const status = RpcStatus.encode({ code, message: details, details: [{ typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: Buffer.from(info) }] }).finish();
  metadata.set('grpc-status-details-bin', Buffer.from(status));
  return { code, details, metadata };
}

async function serve(handlers: OxiaClientHandlers): Promise<{ address: string; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(OxiaClientService, oxiaClientImplementation(handlers));
  return { address: await listen(server), server };
}

test('an Oxia error trailer becomes a typed RpcError with its leader hint', async () => {
  const { address, server } = await serve({
    createSession: ((_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
      cb(oxiaStatus(grpc.status.ABORTED, 'NODE_IS_NOT_LEADER', 'node is not leader for shard 5', { shard: '5', leader: 'elsewhere:6648' }), null)) as grpc.UntypedHandleCall,
    keepAlive: ((_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(oxiaStatus(grpc.status.NOT_FOUND, 'SESSION_NOT_FOUND', 'session 3 not found'), null)) as grpc.UntypedHandleCall,
  });
  const transport = new GrpcTransport();
  try {
    const signal = new AbortController().signal;
    const e1 = (await rejects(() => transport.createSession(address, { shard: 5n, sessionTimeoutMs: 2000, clientIdentity: 'x' }, signal), (e) => e instanceof RpcError)) as RpcError;
    assert.is(e1.kind, 'NodeIsNotLeader');
    assert.equal(e1.leaderHint, { shard: 5n, leader: 'elsewhere:6648' });
    assert.match(e1.message, /node is not leader for shard 5/);
    const e2 = (await rejects(() => transport.keepAlive(address, { shard: 5n, sessionId: 3n }, signal), (e) => e instanceof RpcError)) as RpcError;
    assert.is(e2.kind, 'SessionNotFound');
    const e3 = (await rejects(() => transport.keepAlive('127.0.0.1:1', { shard: 5n, sessionId: 3n }, signal), (e) => e instanceof RpcError)) as RpcError;
    assert.is(e3.kind, 'Unavailable', 'nothing listens on port 1');
  } finally {
    transport.close();
    server.forceShutdown();
  }
});

test('a client follows a not-leader hint from one server to another over gRPC, with WriteStream metadata', async () => {
  const seen: { metadata: Record<string, string>; request: WriteRequest }[] = [];
  const b = await serve({
    writeStream: ((call: grpc.ServerDuplexStream<WriteRequest, WriteResponse>) => {
      const md = call.metadata.getMap() as Record<string, string>;
      call.on('data', (request: WriteRequest) => {
        seen.push({ metadata: md, request });
        call.write({ puts: request.puts.map(() => ({ status: Status.OK, version: okVersion })), deletes: [], deleteRanges: [] });
      });
      call.on('end', () => call.end());
    }) as grpc.UntypedHandleCall,
  });
  const a = await serve({
    getShardAssignments: assignmentsFor(() => a.address),
    writeStream: ((call: grpc.ServerDuplexStream<WriteRequest, WriteResponse>) => {
      call.on('data', () => call.emit('error', oxiaStatus(grpc.status.ABORTED, 'NODE_IS_NOT_LEADER', 'not leader', { shard: '0', leader: b.address })));
    }) as grpc.UntypedHandleCall,
  });
  const client = await OxiaClient.connect(a.address, { logger: { warn: () => {} } });
  try {
    const r = await client.put('/k', 'v');
    assert.is(r.version.versionId, 7);
    assert.equal(r.version.createdTimestamp, new Date(1000));
    assert.is(seen.length, 1);
    assert.is(seen[0]?.metadata['shard-id'], '0');
    assert.is(seen[0]?.metadata['namespace'], 'default');
    assert.is(seen[0]?.metadata['authorization'], undefined);
    assert.is(seen[0]?.request.shard, 0n);
  } finally {
    await client.close();
    a.server.forceShutdown();
    b.server.forceShutdown();
  }
});

test('with authentication, every operation asks for credentials: writes go as unary Write calls, one per batch', async () => {
  const writes: { authorization: unknown; request: WriteRequest }[] = [];
  const readsAuthorization: unknown[] = [];
  const a = await serve({
    getShardAssignments: assignmentsFor(() => a.address),
    write: ((call: grpc.ServerUnaryCall<WriteRequest, WriteResponse>, cb: grpc.sendUnaryData<WriteResponse>) => {
      writes.push({ authorization: call.metadata.get('authorization')[0], request: call.request });
      cb(null, {
        puts: call.request.puts.map(() => ({ status: Status.OK, version: okVersion })),
        deletes: call.request.deletes.map(() => ({ status: Status.OK })),
        deleteRanges: [],
      });
    }) as grpc.UntypedHandleCall,
    read: ((call: grpc.ServerWritableStream<{ gets: unknown[] }, unknown>) => {
      readsAuthorization.push(call.metadata.get('authorization')[0]);
      call.write({ gets: call.request.gets.map(() => ({ status: Status.OK, version: okVersion, value: Buffer.from('v'), key: '/k' })) });
      call.end();
    }) as grpc.UntypedHandleCall,
  });
  let tokens = 0;
  const client = await OxiaClient.connect(a.address, {
    authentication: new TokenAuthentication(async () => `token-${++tokens}`),
    logger: { warn: () => {} },
  });
  try {
    const before = tokens; // the shard-assignments stream asked once
    await client.put('/k', 'v1');
    await client.get('/k');
    await client.put('/k', 'v2');
    await client.delete('/k');
    assert.ok(tokens - before >= 4, `credentials asked ${tokens - before} times for 4 operations`);
    assert.is(writes.length, 3, 'put, put and delete each a unary Write');
    assert.is(readsAuthorization.length, 1);
    assert.ok(writes.every((w) => typeof w.authorization === 'string' && w.authorization.startsWith('Bearer token-')));
    assert.not.equal(writes[0]?.authorization, writes[1]?.authorization, 'a refreshed token is sent with the next call');
    assert.is(writes[0]?.request.shard, 0n);
  } finally {
    await client.close();
    a.server.forceShutdown();
  }
});

test('connect to an address where nothing listens fails after initTimeoutMs naming the cause', async () => {
  const started = performance.now();
  const e = (await rejects(() => OxiaClient.connect('127.0.0.1:1', { initTimeoutMs: 500, logger: { warn: () => {} } }), (x) => x instanceof OxiaError)) as OxiaError;
  assert.ok(performance.now() - started < 3000);
  assert.match(e.message, /127\.0\.0\.1:1/);
  assert.match(e.message, /500 ms/);
});

test.run();
