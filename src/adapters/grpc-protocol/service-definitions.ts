/**
 * grpc-js service tables for every service oxia-ts speaks, built from the message
 * codecs in domain/wire. Written by hand (instead of generated) so that the
 * generated code stays pure data and codecs: only the gRPC adapters know grpc-js.
 * Protocol shared by both sides: the servers (adapters/grpc), the peer clients and the
 * client library (adapters/client) all import these tables from here.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import * as admin from '../../domain/wire/admin.js';
import * as backup from '../../domain/wire/backup.js';
import * as client from '../../domain/wire/client.js';
import * as clientExtensions from '../../domain/wire/client_extensions.js';
import * as health from '../../domain/wire/health.js';
import * as replication from '../../domain/wire/replication.js';
import { encodeMessage, type MessageEncoder } from '../../domain/database/message-encoding.js';

interface MessageCodec<T> extends MessageEncoder<T> {
  decode(input: Uint8Array): T;
}

/** The encoded bytes are fresh (see encodeMessage): wrapping them as a Buffer copies nothing. */
function serialize<T>(codec: MessageCodec<T>, message: T): Buffer {
  const bytes = encodeMessage(codec, message);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function method<Req, Res>(
  path: string,
  req: MessageCodec<Req>,
  res: MessageCodec<Res>,
  requestStream: boolean,
  responseStream: boolean,
): MethodDefinition<Req, Res> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: (m: Req) => serialize(req, m),
    requestDeserialize: (b: Buffer) => req.decode(b),
    responseSerialize: (m: Res) => serialize(res, m),
    responseDeserialize: (b: Buffer) => res.decode(b),
  };
}

function oxiaClientService(pkg: string) {
  const p = `/${pkg}.OxiaClient/`;
  return {
    getShardAssignments: method(p + 'GetShardAssignments', client.ShardAssignmentsRequest, client.ShardAssignments, false, true),
    write: method(p + 'Write', client.WriteRequest, client.WriteResponse, false, false),
    writeStream: method(p + 'WriteStream', client.WriteRequest, client.WriteResponse, true, true),
    read: method(p + 'Read', client.ReadRequest, client.ReadResponse, false, true),
    list: method(p + 'List', client.ListRequest, client.ListResponse, false, true),
    rangeScan: method(p + 'RangeScan', client.RangeScanRequest, client.RangeScanResponse, false, true),
    getSequenceUpdates: method(p + 'GetSequenceUpdates', client.GetSequenceUpdatesRequest, client.GetSequenceUpdatesResponse, false, true),
    getNotifications: method(p + 'GetNotifications', client.NotificationsRequest, client.NotificationBatch, false, true),
    createSession: method(p + 'CreateSession', client.CreateSessionRequest, client.CreateSessionResponse, false, false),
    keepAlive: method(p + 'KeepAlive', client.SessionHeartbeat, client.KeepAliveResponse, false, false),
    closeSession: method(p + 'CloseSession', client.CloseSessionRequest, client.CloseSessionResponse, false, false),
  } satisfies ServiceDefinition;
}

/** `io.oxia.proto.v1.OxiaClient`: the public data API. */
export const OxiaClientService = oxiaClientService('io.oxia.proto.v1');
/** The same API under the package name older Oxia clients call. */
export const OxiaClientCompatService = oxiaClientService('io.streamnative.oxia.proto');
export type OxiaClientService = typeof OxiaClientService;

/**
 * `oxiats.backup.v1.OxiaBackup`: our own service (not Oxia's) on the public port, for
 * `oxia-ts backup` (ADR 0030).
 */
export const OxiaBackupService = {
  readShard: method('/oxiats.backup.v1.OxiaBackup/ReadShard', backup.ReadShardRequest, backup.ReadShardResponse, false, true),
} satisfies ServiceDefinition;

/**
 * `oxiats.client.v1.OxiaTsClient`: our own additions to the client API (not Oxia's) on the
 * public port, which oxia-ts's client uses when a server has them (ADR 0034).
 */
export const OxiaTsClientService = {
  readStream: method('/oxiats.client.v1.OxiaTsClient/ReadStream', clientExtensions.ReadStreamRequest, clientExtensions.ReadStreamResponse, true, true),
} satisfies ServiceDefinition;

const coord = '/replication.OxiaCoordination/';
export const OxiaCoordinationService = {
  pushShardAssignments: method(coord + 'PushShardAssignments', client.ShardAssignments, replication.CoordinationShardAssignmentsResponse, true, false),
  newTerm: method(coord + 'NewTerm', replication.NewTermRequest, replication.NewTermResponse, false, false),
  becomeLeader: method(coord + 'BecomeLeader', replication.BecomeLeaderRequest, replication.BecomeLeaderResponse, false, false),
  addFollower: method(coord + 'AddFollower', replication.AddFollowerRequest, replication.AddFollowerResponse, false, false),
  getStatus: method(coord + 'GetStatus', replication.GetStatusRequest, replication.GetStatusResponse, false, false),
  deleteShard: method(coord + 'DeleteShard', replication.DeleteShardRequest, replication.DeleteShardResponse, false, false),
  handshake: method(coord + 'Handshake', replication.HandshakeRequest, replication.HandshakeResponse, false, false),
  getInfo: method(coord + 'GetInfo', replication.GetInfoRequest, replication.GetInfoResponse, false, false),
  removeObserver: method(coord + 'RemoveObserver', replication.RemoveObserverRequest, replication.RemoveObserverResponse, false, false),
  freezeShard: method(coord + 'FreezeShard', replication.FreezeShardRequest, replication.FreezeShardResponse, false, false),
} satisfies ServiceDefinition;

const repl = '/replication.OxiaLogReplication/';
export const OxiaLogReplicationService = {
  truncate: method(repl + 'Truncate', replication.TruncateRequest, replication.TruncateResponse, false, false),
  replicate: method(repl + 'Replicate', replication.Append, replication.Ack, true, true),
  sendSnapshot: method(repl + 'SendSnapshot', replication.SnapshotChunk, replication.SnapshotResponse, true, false),
} satisfies ServiceDefinition;

const hp = '/grpc.health.v1.Health/';
export const HealthService = {
  check: method(hp + 'Check', health.HealthCheckRequest, health.HealthCheckResponse, false, false),
  watch: method(hp + 'Watch', health.HealthCheckRequest, health.HealthCheckResponse, false, true),
} satisfies ServiceDefinition;

const ap = '/io.oxia.proto.v1.OxiaAdmin/';
/** `io.oxia.proto.v1.OxiaAdmin`: the coordinator's admin API (its --public-addr listener). */
export const OxiaAdminService = {
  listDataServers: method(ap + 'ListDataServers', admin.ListDataServersRequest, admin.ListDataServersResponse, false, false),
  getDataServer: method(ap + 'GetDataServer', admin.GetDataServerRequest, admin.GetDataServerResponse, false, false),
  createDataServer: method(ap + 'CreateDataServer', admin.CreateDataServerRequest, admin.CreateDataServerResponse, false, false),
  patchDataServer: method(ap + 'PatchDataServer', admin.PatchDataServerRequest, admin.PatchDataServerResponse, false, false),
  deleteDataServer: method(ap + 'DeleteDataServer', admin.DeleteDataServerRequest, admin.DeleteDataServerResponse, false, false),
  createNamespace: method(ap + 'CreateNamespace', admin.CreateNamespaceRequest, admin.CreateNamespaceResponse, false, false),
  patchNamespace: method(ap + 'PatchNamespace', admin.PatchNamespaceRequest, admin.PatchNamespaceResponse, false, false),
  deleteNamespace: method(ap + 'DeleteNamespace', admin.DeleteNamespaceRequest, admin.DeleteNamespaceResponse, false, false),
  getNamespace: method(ap + 'GetNamespace', admin.GetNamespaceRequest, admin.GetNamespaceResponse, false, false),
  listNamespaces: method(ap + 'ListNamespaces', admin.ListNamespacesRequest, admin.ListNamespacesResponse, false, false),
  splitShard: method(ap + 'SplitShard', admin.SplitShardRequest, admin.SplitShardResponse, false, false),
} satisfies ServiceDefinition;
