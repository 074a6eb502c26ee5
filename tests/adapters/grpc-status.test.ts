// The OxiaError <-> gRPC status mapping, checked end to end: a real grpc-js server on
// loopback whose ClientApi throws OxiaErrors (the one place a fake core is fine: the
// subject is the adapter), a real grpc-js client, and the trailer decoded by hand.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import type { ClientApi } from '../../src/application/client-api.js';
import { OxiaError, type OxiaErrorKind } from '../../src/domain/errors/oxia-error.js';
import { ErrorInfo, Status as RpcStatus } from '../../src/domain/wire/rpc_status.js';
import { ReadRequest, WriteRequest, type ReadResponse, type WriteResponse } from '../../src/domain/wire/client.js';
import { OxiaClientService } from '../../src/adapters/grpc-protocol/service-definitions.js';
import { GrpcServer } from '../../src/adapters/grpc/grpc-server.js';
import { NO_ACCESS_POLICY } from '../../src/application/ports/access-policy-source.js';
import { AccessControlledApi } from '../../src/application/security/access-controlled-api.js';
import { OpenAuthenticator } from '../../src/application/security/open-authenticator.js';
import { PublicServiceHandlers } from '../../src/adapters/grpc/public-server.js';
import { ServerCallTracker } from '../../src/adapters/grpc/server-call-tracker.js';
import { parseGrpcError, grpcErrorToOxiaError } from '../../src/adapters/grpc-protocol/error-status.js';
import { PinoLogger } from '../../src/adapters/logging/pino-logger.js';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';

/** What each kind must look like on the wire: Oxia's table (common/constant/errors.go) plus ours. */
const EXPECTED: Record<OxiaErrorKind, { code: grpc.status; reason: string; readBack: OxiaErrorKind }> = {
  Aborted: { code: grpc.status.ABORTED, reason: 'ABORTED', readBack: 'Aborted' },
  InvalidSessionTimeout: { code: grpc.status.INVALID_ARGUMENT, reason: 'INVALID_SESSION_TIMEOUT', readBack: 'InvalidSessionTimeout' },
  SessionNotFound: { code: grpc.status.NOT_FOUND, reason: 'SESSION_NOT_FOUND', readBack: 'SessionNotFound' },
  NamespaceNotFound: { code: grpc.status.NOT_FOUND, reason: 'NAMESPACE_NOT_FOUND', readBack: 'NamespaceNotFound' },
  ShardNotFound: { code: grpc.status.NOT_FOUND, reason: 'SHARD_NOT_FOUND', readBack: 'ShardNotFound' },
  InvalidTerm: { code: grpc.status.FAILED_PRECONDITION, reason: 'INVALID_TERM', readBack: 'InvalidTerm' },
  InvalidStatus: { code: grpc.status.FAILED_PRECONDITION, reason: 'INVALID_STATUS', readBack: 'InvalidStatus' },
  NotificationsNotEnabled: { code: grpc.status.FAILED_PRECONDITION, reason: 'NOTIFICATIONS_NOT_ENABLED', readBack: 'NotificationsNotEnabled' },
  NodeIsNotMember: { code: grpc.status.ABORTED, reason: 'NODE_IS_NOT_MEMBER', readBack: 'NodeIsNotMember' },
  NodeIsNotLeader: { code: grpc.status.ABORTED, reason: 'NODE_IS_NOT_LEADER', readBack: 'NodeIsNotLeader' },
  NotInitialized: { code: grpc.status.UNAVAILABLE, reason: 'NOT_INITIALIZED', readBack: 'NotInitialized' },
  ResourceConflict: { code: grpc.status.FAILED_PRECONDITION, reason: 'RESOURCE_CONFLICT', readBack: 'ResourceConflict' },
  ResourceUnavailable: { code: grpc.status.UNAVAILABLE, reason: 'RESOURCE_UNAVAILABLE', readBack: 'ResourceUnavailable' },
  InvalidArgument: { code: grpc.status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', readBack: 'InvalidArgument' },
  LimitExceeded: { code: grpc.status.INVALID_ARGUMENT, reason: 'LIMIT_EXCEEDED', readBack: 'LimitExceeded' },
  Closed: { code: grpc.status.UNAVAILABLE, reason: 'RESOURCE_UNAVAILABLE', readBack: 'ResourceUnavailable' },
  Unauthenticated: { code: grpc.status.UNAUTHENTICATED, reason: 'UNAUTHENTICATED', readBack: 'Unauthenticated' },
  PermissionDenied: { code: grpc.status.PERMISSION_DENIED, reason: 'PERMISSION_DENIED', readBack: 'PermissionDenied' },
  NotFound: { code: grpc.status.NOT_FOUND, reason: 'NOT_FOUND', readBack: 'NotFound' },
  AlreadyExists: { code: grpc.status.ALREADY_EXISTS, reason: 'ALREADY_EXISTS', readBack: 'AlreadyExists' },
  FailedPrecondition: { code: grpc.status.FAILED_PRECONDITION, reason: 'FAILED_PRECONDITION', readBack: 'FailedPrecondition' },
  DiskFull: { code: grpc.status.RESOURCE_EXHAUSTED, reason: 'DISK_FULL', readBack: 'DiskFull' },
  StorageFailed: { code: grpc.status.UNAVAILABLE, reason: 'STORAGE_FAILED', readBack: 'StorageFailed' },
  ReplicaDiverged: { code: grpc.status.DATA_LOSS, reason: 'REPLICA_DIVERGED', readBack: 'ReplicaDiverged' },
};

// The fake core: what it throws is set per test.
let failure: () => unknown = () => new Error('no failure set');
const notCalled = (): never => {
  throw new Error('not used by this test');
};
const api: ClientApi = {
  watchAssignments: notCalled,
  async write(): Promise<WriteResponse> {
    throw failure();
  },
  async *read(): AsyncIterable<ReadResponse> {
    yield { gets: [] };
    throw failure();
  },
  list: notCalled,
  rangeScan: notCalled,
  sequenceUpdates: notCalled,
  notifications: notCalled,
  createSession: notCalled,
  shardNamespace: () => ({ namespace: 'default', keySorting: 'hierarchical' }),
  keepAlive: notCalled,
  closeSession: notCalled,
  copyShard: notCalled,
};

const logLines: string[] = [];
const logSink = new Writable({
  write(chunk, _enc, done) {
    logLines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});
const logger = new PinoLogger({ level: 'debug', destination: logSink });
const tracker = new ServerCallTracker();
const metrics = new PromMetrics();
const server = new GrpcServer({ bind: { host: '127.0.0.1', port: 0 }, receiveMessageSizeBytesMax: 1 << 20, shutdownTimeoutMs: 5_000, name: 'test' }, tracker, logger, metrics);
server.addService(OxiaClientService, new PublicServiceHandlers(new AccessControlledApi(api, NO_ACCESS_POLICY), new OpenAuthenticator(), tracker, logger, metrics).implementation());

type Client = grpc.Client & { [K in keyof typeof OxiaClientService]: (...args: any[]) => any };
let client: Client;

test.before(async () => {
  const { port } = await server.listen();
  const Ctor = grpc.makeGenericClientConstructor(OxiaClientService, 'OxiaClient');
  client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
});
test.after(async () => {
  client?.close();
  await server.close();
});

function unaryWrite(): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) =>
    client.write(WriteRequest.fromPartial({ shard: 7n }), (error: grpc.ServiceError | null) =>
      error ? resolve(error) : reject(new Error('the call succeeded')),
    ),
  );
}

function decodeTrailer(error: grpc.ServiceError): { status: RpcStatus; info: ErrorInfo } {
  const raw = error.metadata.get('grpc-status-details-bin');
  assert.is(raw.length, 1, 'one grpc-status-details-bin trailer');
  const status = RpcStatus.decode(raw[0] as Buffer);
  assert.is(status.details.length, 1);
  assert.is(status.details[0]?.typeUrl, 'type.googleapis.com/google.rpc.ErrorInfo');
  return { status, info: ErrorInfo.decode(status.details[0]!.value) };
}

for (const [kind, expected] of Object.entries(EXPECTED) as [OxiaErrorKind, (typeof EXPECTED)[OxiaErrorKind]][]) {
  test(`${kind} -> ${grpc.status[expected.code]} / ${expected.reason}, and back`, async () => {
    failure = () => new OxiaError(kind, `boom: ${kind}`);
    const error = await unaryWrite();
    assert.is(error.code, expected.code);
    assert.is(error.details, `boom: ${kind}`);
    const { status, info } = decodeTrailer(error);
    assert.is(status.code, expected.code, 'google.rpc.Status repeats the code');
    assert.is(status.message, `boom: ${kind}`);
    assert.is(info.domain, 'oxia.io');
    assert.is(info.reason, expected.reason);
    assert.equal(info.metadata, {});
    const parsed = parseGrpcError(error);
    assert.is(parsed.kind, expected.readBack);
    assert.is(parsed.reason, expected.reason);
    assert.is(parsed.leaderHint, undefined);
  });
}

test('NodeIsNotLeader carries the leader hint as ErrorInfo metadata {shard, leader}', async () => {
  failure = () => new OxiaError('NodeIsNotLeader', 'not the leader', { shard: 7n, leader: 'node-2.example:6648' });
  const error = await unaryWrite();
  assert.is(error.code, grpc.status.ABORTED);
  const { info } = decodeTrailer(error);
  assert.equal(info.metadata, { shard: '7', leader: 'node-2.example:6648' });
  const back = grpcErrorToOxiaError(error);
  assert.ok(back instanceof OxiaError);
  assert.is(back.kind, 'NodeIsNotLeader');
  assert.is(back.message, 'not the leader');
  assert.equal(back.leaderHint, { shard: 7n, leader: 'node-2.example:6648' });
});

test('a hint with an empty leader is left out, as Oxia does', async () => {
  failure = () => new OxiaError('NodeIsNotLeader', 'no leader yet', { shard: 7n, leader: '' });
  const error = await unaryWrite();
  assert.equal(decodeTrailer(error).info.metadata, {});
  assert.is(parseGrpcError(error).leaderHint, undefined);
});

test('an error after some stream messages ends the stream with the mapped status', async () => {
  failure = () => new OxiaError('ShardNotFound', 'shard 7 is gone');
  const received: ReadResponse[] = [];
  const error = await new Promise<grpc.ServiceError>((resolve, reject) => {
    const call = client.read(ReadRequest.fromPartial({ shard: 7n }));
    call.on('data', (m: ReadResponse) => received.push(m));
    call.on('error', resolve);
    call.on('end', () => reject(new Error('the stream ended without an error')));
  });
  assert.is(received.length, 1, 'the message before the failure arrived');
  assert.is(error.code, grpc.status.NOT_FOUND);
  assert.is(parseGrpcError(error).kind, 'ShardNotFound');
});

test('an unexpected error is INTERNAL with its message, logged, and the server keeps serving', async () => {
  failure = () => new TypeError('cannot read properties of undefined');
  const error = await unaryWrite();
  assert.is(error.code, grpc.status.INTERNAL);
  assert.match(error.details, 'cannot read properties of undefined');
  assert.is(parseGrpcError(error).kind, undefined);
  assert.is(grpcErrorToOxiaError(error), undefined);
  assert.ok(
    logLines.some((l) => l.includes('"level":"error"') && l.includes('cannot read properties of undefined')),
    'the unexpected error was logged',
  );
  failure = () => new OxiaError('SessionNotFound', 'still here');
  assert.is((await unaryWrite()).code, grpc.status.NOT_FOUND, 'later calls are served as before');
});

test('a request without a shard is INVALID_ARGUMENT', async () => {
  const error = await new Promise<grpc.ServiceError>((resolve, reject) =>
    client.write(WriteRequest.fromPartial({}), (e: grpc.ServiceError | null) => (e ? resolve(e) : reject(new Error('succeeded')))),
  );
  assert.is(error.code, grpc.status.INVALID_ARGUMENT);
  assert.match(error.details, 'shard');
  assert.is(parseGrpcError(error).kind, 'InvalidArgument');
});

test('a bare INVALID_ARGUMENT (as Oxia sends for malformed requests) reads back as InvalidArgument', () => {
  const parsed = parseGrpcError({ code: grpc.status.INVALID_ARGUMENT, details: 'shard id is required', metadata: new grpc.Metadata() });
  assert.is(parsed.kind, 'InvalidArgument');
  const other = parseGrpcError({ code: grpc.status.UNAVAILABLE, details: 'connection refused', metadata: new grpc.Metadata() });
  assert.is(other.kind, undefined);
});

test.run();
