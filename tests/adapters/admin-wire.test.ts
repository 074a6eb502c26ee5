// Wire compatibility of the admin API with Oxia's admin.proto and metadata.proto (ADR 0002):
// Oxia's Go CLI cannot be built here, so each admin message is checked against bytes built by
// hand from Oxia's field numbers and wire types (the "golden" bytes below): our codec must
// decode them to the expected message and encode that message to exactly those bytes. The
// service table's method paths are Oxia's too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OxiaAdminService } from '../../src/adapters/grpc-protocol/service-definitions.js';
import * as admin from '../../src/domain/wire/admin.js';
import * as md from '../../src/domain/wire/metadata.js';

// ---- a minimal protobuf writer: tag = field << 3 | wire type
const varint = (n: bigint | number): number[] => {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
};
const VARINT = 0;
const LEN = 2;
const tag = (field: number, type: number): number[] => varint((field << 3) | type);
const int = (field: number, n: bigint | number): number[] => [...tag(field, VARINT), ...varint(n)];
const bool = (field: number, b: boolean): number[] => int(field, b ? 1 : 0);
const bytes = (field: number, body: number[]): number[] => [...tag(field, LEN), ...varint(body.length), ...body];
const str = (field: number, s: string): number[] => bytes(field, [...Buffer.from(s, 'utf8')]);
const msg = (field: number, ...parts: number[][]): number[] => bytes(field, parts.flat());
const mapEntry = (field: number, key: number[], value: number[]): number[] => msg(field, key, value);

interface Codec<T> {
  encode(m: T): { finish(): Uint8Array };
  decode(b: Uint8Array): T;
}

function golden<T>(name: string, codec: Codec<T>, message: T, wire: number[]): void {
  test(`${name}: Oxia's bytes decode to the message and the message encodes to them`, () => {
    const expected = Uint8Array.from(wire);
    assert.equal(codec.decode(expected), message, `${name}: decoding`);
    assert.equal(Buffer.from(codec.encode(message).finish()).toString('hex'), Buffer.from(expected).toString('hex'), `${name}: encoding`);
  });
}

// ---- metadata.proto
// DataServerIdentity { optional string name = 1; string public = 2; string internal = 3; }
const IDENTITY: md.DataServerIdentity = { name: 's1', public: 'h1:6648', internal: 'h1:6649' };
const identityBody = [...str(1, 's1'), ...str(2, 'h1:6648'), ...str(3, 'h1:6649')];
const identityBytes = (field: number) => bytes(field, identityBody);
// DataServer { DataServerIdentity identity = 1; DataServerMetadata metadata = 2 { map<string,string> labels = 1 } }
const SERVER: md.DataServer = { identity: IDENTITY, metadata: { labels: { zone: 'a' } } };
const serverBody = [...identityBytes(1), ...msg(2, mapEntry(1, str(1, 'zone'), str(2, 'a')))];
const serverBytes = (field: number) => bytes(field, serverBody);
// Namespace { name = 1; uint32 initial_shard_count = 2; uint32 replication_factor = 3; optional bool notifications_enabled = 4;
//             string key_sorting = 5; repeated AntiAffinity anti_affinities = 6 { repeated string labels = 1; string mode = 2 } }
const NAMESPACE: md.Namespace = {
  name: 'ns',
  initialShardCount: 4,
  replicationFactor: 3,
  notificationsEnabled: false,
  keySorting: 'natural',
  antiAffinities: [{ labels: ['zone', 'rack'], mode: 'strict' }],
};
const namespaceBody = [...str(1, 'ns'), ...int(2, 4), ...int(3, 3), ...bool(4, false), ...str(5, 'natural'), ...msg(6, str(1, 'zone'), str(1, 'rack'), str(2, 'strict'))];
const namespaceBytes = (field: number) => bytes(field, namespaceBody);
// ShardMetadata { ShardStatus status = 1; int64 term = 2; DataServerIdentity leader = 3; repeated ensemble = 4;
//                 repeated removed_nodes = 5; repeated pending_delete_shard_nodes = 6; HashRange int32_hash_range = 7 {min = 1, max = 2} }
const SHARD: md.ShardMetadata = {
  status: md.ShardStatus.SteadyState,
  term: 7n,
  leader: IDENTITY,
  ensemble: [IDENTITY],
  removedNodes: [],
  pendingDeleteShardNodes: [],
  int32HashRange: { min: 0, max: 4294967295 },
  split: undefined,
};
const shardBytes = [...int(1, 1), ...int(2, 7), ...identityBytes(3), ...identityBytes(4), ...msg(7, int(2, 4294967295))];
// NamespaceStatus { uint32 replication_factor = 1; map<int64, ShardMetadata> shards = 2 }
const NS_STATUS: md.NamespaceStatus = { replicationFactor: 3, shards: new Map([[5n, SHARD]]) };
const nsStatusBody = [...int(1, 3), ...mapEntry(2, int(1, 5), bytes(2, shardBytes))];
const nsStatusBytes = (field: number) => bytes(field, nsStatusBody);
// DataServerStatus { DataServerState state = 1; repeated replication.Feature supported_features = 2 (packed) }
const STATUS: md.DataServerStatus = { state: md.DataServerState.DATA_SERVER_STATE_DRAINING, supportedFeatures: [1] };
const statusBody = [...int(1, 3), ...bytes(2, [1])];
const statusBytes = (field: number) => bytes(field, statusBody);

golden('DataServerIdentity', md.DataServerIdentity, IDENTITY, identityBody);
golden('DataServer', md.DataServer, SERVER, serverBody);
golden('Namespace', md.Namespace, NAMESPACE, namespaceBody);
golden('ShardMetadata', md.ShardMetadata, SHARD, shardBytes);
golden('NamespaceStatus', md.NamespaceStatus, NS_STATUS, nsStatusBody);
golden('DataServerStatus', md.DataServerStatus, STATUS, statusBody);

// ---- admin.proto
golden('ListDataServersRequest', admin.ListDataServersRequest, {}, []);
golden('ListDataServersResponse', admin.ListDataServersResponse, { dataServers: [{ dataServer: SERVER, dataServerStatus: STATUS }] }, msg(1, serverBytes(1), statusBytes(2)));
golden('GetDataServerRequest', admin.GetDataServerRequest, { dataServer: 's1' }, str(1, 's1'));
golden('GetDataServerResponse', admin.GetDataServerResponse, { dataServer: { dataServer: SERVER, dataServerStatus: STATUS } }, msg(1, serverBytes(1), statusBytes(2)));
golden('DataServerView', admin.DataServerView, { dataServer: SERVER, dataServerStatus: STATUS }, [...serverBytes(1), ...statusBytes(2)]);
golden('CreateDataServerRequest', admin.CreateDataServerRequest, { dataServer: SERVER }, serverBytes(1));
golden('CreateDataServerResponse', admin.CreateDataServerResponse, { dataServer: SERVER }, serverBytes(1));
golden('PatchDataServerRequest', admin.PatchDataServerRequest, { dataServer: SERVER }, serverBytes(1));
golden('PatchDataServerResponse', admin.PatchDataServerResponse, { dataServer: SERVER }, serverBytes(1));
golden('DeleteDataServerRequest', admin.DeleteDataServerRequest, { dataServer: 's1' }, str(1, 's1'));
golden('DeleteDataServerResponse', admin.DeleteDataServerResponse, { dataServer: SERVER }, serverBytes(1));
golden('CreateNamespaceRequest', admin.CreateNamespaceRequest, { namespace: NAMESPACE }, namespaceBytes(1));
golden('CreateNamespaceResponse', admin.CreateNamespaceResponse, { namespace: NAMESPACE }, namespaceBytes(1));
golden('PatchNamespaceRequest', admin.PatchNamespaceRequest, { namespace: NAMESPACE }, namespaceBytes(1));
golden('PatchNamespaceResponse', admin.PatchNamespaceResponse, { namespace: NAMESPACE }, namespaceBytes(1));
golden('DeleteNamespaceRequest', admin.DeleteNamespaceRequest, { namespace: 'ns' }, str(1, 'ns'));
golden('DeleteNamespaceResponse', admin.DeleteNamespaceResponse, { namespace: NAMESPACE }, namespaceBytes(1));
golden('ListNamespacesRequest', admin.ListNamespacesRequest, {}, []);
golden('ListNamespacesResponse', admin.ListNamespacesResponse, { namespaces: [{ namespace: NAMESPACE, namespaceStatus: NS_STATUS }] }, msg(1, namespaceBytes(1), nsStatusBytes(2)));
golden('GetNamespaceRequest', admin.GetNamespaceRequest, { namespace: 'ns' }, str(1, 'ns'));
golden('GetNamespaceResponse', admin.GetNamespaceResponse, { namespace: { namespace: NAMESPACE, namespaceStatus: NS_STATUS } }, msg(1, namespaceBytes(1), nsStatusBytes(2)));
golden('NamespaceView', admin.NamespaceView, { namespace: NAMESPACE, namespaceStatus: NS_STATUS }, [...namespaceBytes(1), ...nsStatusBytes(2)]);
// SplitShardRequest { string namespace = 1; int64 shard = 2; optional uint32 split_point = 3 }: an explicit 0 is sent.
golden('SplitShardRequest', admin.SplitShardRequest, { namespace: 'ns', shard: 9n, splitPoint: 0 }, [...str(1, 'ns'), ...int(2, 9), ...int(3, 0)]);
golden('SplitShardRequest without a split point', admin.SplitShardRequest, { namespace: 'ns', shard: 9n, splitPoint: undefined }, [...str(1, 'ns'), ...int(2, 9)]);
golden('SplitShardResponse', admin.SplitShardResponse, { leftChildShard: 10n, rightChildShard: 11n }, [...int(1, 10), ...int(2, 11)]);

test("the service and its methods have Oxia's names", () => {
  const paths = Object.values(OxiaAdminService).map((m) => m.path);
  assert.equal(paths, [
    '/io.oxia.proto.v1.OxiaAdmin/ListDataServers',
    '/io.oxia.proto.v1.OxiaAdmin/GetDataServer',
    '/io.oxia.proto.v1.OxiaAdmin/CreateDataServer',
    '/io.oxia.proto.v1.OxiaAdmin/PatchDataServer',
    '/io.oxia.proto.v1.OxiaAdmin/DeleteDataServer',
    '/io.oxia.proto.v1.OxiaAdmin/CreateNamespace',
    '/io.oxia.proto.v1.OxiaAdmin/PatchNamespace',
    '/io.oxia.proto.v1.OxiaAdmin/DeleteNamespace',
    '/io.oxia.proto.v1.OxiaAdmin/GetNamespace',
    '/io.oxia.proto.v1.OxiaAdmin/ListNamespaces',
    '/io.oxia.proto.v1.OxiaAdmin/SplitShard',
  ]);
  for (const m of Object.values(OxiaAdminService)) assert.ok(!m.requestStream && !m.responseStream, `${m.path} is unary`);
});

test.run();
