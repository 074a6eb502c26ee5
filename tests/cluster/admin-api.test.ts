// The admin API (OxiaAdmin on the coordinator's --public-addr) over real gRPC against a real
// coordinator and four `oxia-ts server` processes (three in the config file, the fourth
// added through the API): a namespace created through the API gets leaders and takes writes;
// its replication factor goes 1 -> 3 -> 2 one replica at a time with every record kept;
// deleting it deletes its shards; a data server created through the API becomes a member, a
// deleted one is DRAINING until its replicas moved; and all of it survives a kill -9 of the
// coordinator. Bad input gets the codes Oxia gives it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { status as GrpcCode, type ServiceError } from '@grpc/grpc-js';
import { GrpcAdminClient } from '../../src/adapters/admin-client/grpc-admin-client.js';
import { OxiaClient } from '../../src/adapters/client/index.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import { allShards, type ClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import { nodeId } from '../../src/domain/cluster/node-address.js';
import { DataServerState } from '../../src/domain/wire/metadata.js';
import type { Namespace } from '../../src/domain/wire/metadata.js';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const S = suite('cluster: admin API');
const DEFAULT = { name: 'default', shards: 2, rf: 3 };
let cluster: TestCluster;
let admin: GrpcAdminClient;

function adminClient(): GrpcAdminClient {
  return new GrpcAdminClient(String(cluster.coordinator.serving.publicAddress), { security: PLAINTEXT, requestTimeoutMs: 20_000 });
}

function namespace(name: string, shards: number, rf: number): Namespace {
  return { name, initialShardCount: shards, replicationFactor: rf, notificationsEnabled: true, keySorting: 'hierarchical', antiAffinities: [] };
}

function shardsOf(status: ClusterStatus, ns: string) {
  return [...allShards(status)].filter((s) => s.namespace === ns);
}

/** Every shard of `ns` in SteadyState with a leader and an ensemble of `rf` (and nothing being removed). */
async function settled(ns: string, shards: number, rf: number): Promise<void> {
  await waitFor(
    () => {
      const mine = shardsOf(cluster.readStatus(), ns);
      return mine.length === shards && mine.every((s) => s.metadata.status === 'SteadyState' && s.metadata.leader && s.metadata.ensemble.length === rf && s.metadata.removedNodes.length === 0);
    },
    `${ns}: ${shards} shards, each led, with ${rf} replicas`,
    120_000,
    100,
  );
}

/**
 * Every record written before the change, read back. The client may still hold the assignments
 * of the last election for a moment (a shard between leaders is not in them): it reads again
 * until the deadline, and every value must be the one written.
 */
async function everyRecordReadable(client: OxiaClient): Promise<void> {
  await waitFor(
    async () => {
      for (let i = 0; i < 20; i++) assert.is(Buffer.from((await client.get(`/k/${i}`)).value!).toString(), `v${i}`);
      return true;
    },
    'every record readable with its value',
    30_000,
    200,
  );
}

async function expectCode(p: Promise<unknown>, code: GrpcCode, message: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    const se = e as ServiceError;
    assert.is(GrpcCode[se.code], GrpcCode[code], se.details);
    assert.match(se.details, message);
    return;
  }
  assert.unreachable(`expected ${GrpcCode[code]}`);
}

S.before(async () => {
  cluster = await TestCluster.start({ nodes: 4, namespaces: [DEFAULT], withoutCoordinator: true, coordinatorArgs: ['--log-level', 'debug'] });
  // The config file lists three servers; the fourth joins through the API.
  cluster.writeConfig([DEFAULT], cluster.nodes.slice(0, 3));
  await cluster.startCoordinator();
  admin = adminClient();
  await settled('default', 2, 3);
});

S.after(async () => {
  admin?.close();
  await cluster?.close();
});

S('a namespace created through the API gets leaders and takes writes; its replication factor goes 1 -> 3 -> 2; deleting it deletes its shards', async () => {
  const created = await admin.call('createNamespace', { namespace: namespace('orders', 2, 1) });
  assert.equal(created.namespace?.name, 'orders');
  await settled('orders', 2, 1);
  const client = await OxiaClient.connect(cluster.nodes[0]!.publicAddress, { namespace: 'orders' });
  try {
    for (let i = 0; i < 20; i++) await client.put(`/k/${i}`, `v${i}`);

    await admin.call('patchNamespace', { namespace: { ...namespace('orders', 0, 3), keySorting: '', notificationsEnabled: undefined } });
    const view = await admin.call('getNamespace', { namespace: 'orders' });
    assert.is(view.namespace?.namespaceStatus?.replicationFactor, 3, 'the status reports the new factor at once');
    await settled('orders', 2, 3);
    for (const s of shardsOf(cluster.readStatus(), 'orders')) assert.is(new Set(s.metadata.ensemble.map(nodeId)).size, 3);
    await everyRecordReadable(client);
    await client.put('/after/3', 'x');

    await admin.call('patchNamespace', { namespace: { ...namespace('orders', 0, 2), keySorting: '', notificationsEnabled: undefined } });
    await settled('orders', 2, 2);
    await everyRecordReadable(client);
    await client.put('/after/2', 'x');
  } finally {
    await client.close();
  }

  const deleted = await admin.call('deleteNamespace', { namespace: 'orders' });
  assert.is(deleted.namespace?.replicationFactor, 2);
  await waitFor(() => !cluster.readStatus().namespaces.has('orders'), 'orders deleted from the status', 60_000, 100);
  await expectCode(admin.call('getNamespace', { namespace: 'orders' }), GrpcCode.NOT_FOUND, /namespace "orders" not found/);
});

S('a data server created through the API becomes a member; a deleted one is DRAINING until its replicas moved', async () => {
  const list = async () => (await admin.call('listDataServers', {})).dataServers.map((v) => ({ name: v.dataServer?.identity?.name, state: v.dataServerStatus?.state }));
  await waitFor(async () => (await list()).filter((s) => s.state === DataServerState.DATA_SERVER_STATE_RUNNING).length === 3, 'three running servers', 30_000, 100);

  const extra = cluster.nodes[3]!;
  await admin.call('createDataServer', { dataServer: { identity: { name: extra.name, public: extra.publicAddress, internal: extra.internalAddress }, metadata: { labels: { zone: 'b' } } } });
  await waitFor(async () => (await list()).some((s) => s.name === extra.name && s.state === DataServerState.DATA_SERVER_STATE_RUNNING), `${extra.name} running`, 30_000, 100);
  const got = await admin.call('getDataServer', { dataServer: extra.name });
  assert.equal(got.dataServer?.dataServer?.metadata?.labels, { zone: 'b' });

  await admin.call('deleteDataServer', { dataServer: 'node-0' });
  const right = await list();
  assert.equal(right.find((s) => s.name === 'node-0')?.state, DataServerState.DATA_SERVER_STATE_DRAINING, `node-0 drains: ${JSON.stringify(right)}`);
  await waitFor(
    async () => !(await list()).some((s) => s.name === 'node-0') && shardsOf(cluster.readStatus(), 'default').every((s) => !s.metadata.ensemble.some((n) => nodeId(n) === 'node-0')),
    'node-0 drained and gone from the list',
    120_000,
    200,
  );
  await settled('default', 2, 3);
  await expectCode(admin.call('getDataServer', { dataServer: 'node-0' }), GrpcCode.NOT_FOUND, /data server "node-0" not found/);
});

S('changes survive a kill -9 of the coordinator', async () => {
  await admin.call('createNamespace', { namespace: namespace('kept', 1, 2) });
  await settled('kept', 1, 2);
  admin.close();
  await cluster.coordinator.kill9();
  await cluster.startCoordinator();
  // It acts once the dead one's lease has lapsed.
  await cluster.actingCoordinator();
  admin = adminClient();

  const kept = await admin.call('getNamespace', { namespace: 'kept' });
  assert.is(kept.namespace?.namespace?.replicationFactor, 2);
  await expectCode(admin.call('getNamespace', { namespace: 'orders' }), GrpcCode.NOT_FOUND, /not found/);
  const names = (await admin.call('listDataServers', {})).dataServers.map((v) => v.dataServer?.identity?.name).sort();
  assert.equal(names, ['node-1', 'node-2', 'node-3']);
  const client = await OxiaClient.connect(cluster.nodes[1]!.publicAddress, { namespace: 'kept' });
  try {
    await client.put('/after-restart', 'yes');
    assert.is(Buffer.from((await client.get('/after-restart')).value!).toString(), 'yes');
  } finally {
    await client.close();
  }
});

S('bad input: INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, each naming the problem', async () => {
  await expectCode(admin.call('createNamespace', { namespace: namespace('x', 1, 0) }), GrpcCode.INVALID_ARGUMENT, /replication factor must be greater than 0/);
  await expectCode(admin.call('createNamespace', { namespace: namespace('bad name!', 1, 1) }), GrpcCode.INVALID_ARGUMENT, /not a valid namespace name/);
  await expectCode(admin.call('createNamespace', { namespace: namespace('kept', 1, 1) }), GrpcCode.ALREADY_EXISTS, /namespace "kept" already exists/);
  await expectCode(admin.call('createNamespace', { namespace: namespace('big', 1, 4) }), GrpcCode.FAILED_PRECONDITION, /replicationFactor=4 but only 3 data servers/);
  await expectCode(admin.call('patchNamespace', { namespace: { ...namespace('nowhere', 0, 1), keySorting: '' } }), GrpcCode.NOT_FOUND, /namespace "nowhere" not found/);
  await expectCode(admin.call('patchNamespace', { namespace: { ...namespace('kept', 4, 1), keySorting: '' } }), GrpcCode.INVALID_ARGUMENT, /initial shard count cannot be patched/);
  await expectCode(
    admin.call('createDataServer', { dataServer: { identity: { name: 'n9', public: 'nowhere', internal: '127.0.0.1:1' } } }),
    GrpcCode.INVALID_ARGUMENT,
    /public address "nowhere" is not a host:port address/,
  );
  await expectCode(admin.call('deleteDataServer', { dataServer: 'node-1' }), GrpcCode.FAILED_PRECONDITION, /namespace "default" has replicationFactor=3 and 2 data servers would remain/);
  const shard = shardsOf(cluster.readStatus(), 'default')[0]!.shard;
  await expectCode(admin.call('splitShard', { namespace: 'default', shard, splitPoint: 4294967295 }), GrpcCode.INVALID_ARGUMENT, /split point 4294967295 is not inside/);
  await expectCode(admin.call('splitShard', { namespace: 'default', shard: 999n, splitPoint: undefined }), GrpcCode.NOT_FOUND, /shard 999 not found/);
});

S.run();
