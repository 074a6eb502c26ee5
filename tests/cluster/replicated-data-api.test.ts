// End to end over real processes: 3 `oxia-ts server` + `oxia-ts coordinator`, replication
// factor 3, several shards, driven with the raw protocol client (tests/support/raw-client.ts).
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GrpcStorageNodeClient } from '../../src/adapters/coordination-client/grpc-storage-node-client.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import { Status } from '../../src/domain/wire/client.js';
import { TestCluster } from '../support/cluster.js';
import { errorInfo, expectGrpcError, RawOxiaClient, type ShardInfo } from '../support/raw-client.js';

let cluster: TestCluster;
let shards: ShardInfo[];

test.before(async () => {
  cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 4, rf: 3 }] });
  shards = await cluster.leaders('default');
});

test.after(async () => {
  await cluster?.close();
});

const leaderClient = (key: string): { client: RawOxiaClient; shard: bigint } => {
  const shard = RawOxiaClient.shardFor(shards, key);
  return { client: cluster.client(shards.find((s) => s.shard === shard)!.leader), shard };
};

test('the coordinator stored what the nodes serve: 4 steady shards at term 0, ensembles of 3, leaders spread', () => {
  const status = cluster.readStatus();
  const ns = status.namespaces.get('default')!;
  assert.is(ns.shards.size, 4);
  for (const s of ns.shards.values()) {
    assert.is(s.status, 'SteadyState');
    assert.is(s.term, 0n);
    assert.is(new Set(s.ensemble.map((n) => n.internal)).size, 3);
  }
  assert.equal(
    shards.map((s) => s.leader),
    [...ns.shards.values()].map((s) => s.leader!.public),
  );
  assert.ok(new Set(shards.map((s) => s.leader)).size >= 2, 'leaders are not all on one node');
});

test('puts, gets, lists and deletes across shards', async () => {
  const keys = Array.from({ length: 40 }, (_, i) => `/data/k-${String(i).padStart(2, '0')}`);
  for (const key of keys) {
    const { client, shard } = leaderClient(key);
    const r = await client.put(shard, { key, value: Buffer.from(`v:${key}`) });
    assert.is(r.puts[0]?.status, Status.OK);
  }
  for (const key of keys) {
    const { client, shard } = leaderClient(key);
    const g = await client.get(shard, key);
    assert.is(g.status, Status.OK);
    assert.is(Buffer.from(g.value!).toString(), `v:${key}`);
  }
  const listed: string[] = [];
  for (const s of shards) listed.push(...(await cluster.client(s.leader).list(s.shard, '/data/', '/data/~')));
  assert.equal(listed.sort(), keys);

  const gone = keys[3]!;
  const { client, shard } = leaderClient(gone);
  assert.is((await client.del(shard, { key: gone })).deletes[0]?.status, Status.OK);
  assert.is((await client.get(shard, gone)).status, Status.KEY_NOT_FOUND);
});

test('a node that does not lead a shard refuses it and names the leader', async () => {
  const s = shards[0]!;
  const other = cluster.nodes.find((n) => n.publicAddress !== s.leader)!;
  const e = await expectGrpcError(cluster.client(other.publicAddress).put(s.shard, { key: '/x', value: Buffer.from('1') }), grpc.status.ABORTED);
  const info = errorInfo(e);
  assert.is(info?.reason, 'NODE_IS_NOT_LEADER');
  assert.is(info?.metadata.leader, s.leader);
});

test('the coordinator answers health checks on its internal address', async () => {
  const probe = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
  try {
    const address = String(cluster.coordinator.serving.internalAddress);
    assert.is(await probe.checkHealth({ public: address, internal: address }, 2_000), 'serving');
  } finally {
    await probe.close();
  }
});

test('every node hands out the same assignments', async () => {
  for (const n of cluster.nodes) {
    const theirs = await cluster.client(n.publicAddress).shards('default');
    assert.equal(theirs, shards, `assignments of ${n.name}`);
  }
});

test('the data survives a graceful restart of a leader: another member leads and has it', async () => {
  const key = '/data/k-10';
  const { shard } = leaderClient(key);
  const oldLeader = cluster.nodeByPublic(shards.find((s) => s.shard === shard)!.leader);
  await oldLeader.stop();
  shards = await cluster.leaders('default', [oldLeader.publicAddress]);
  const { client } = leaderClient(key);
  const g = await client.get(shard, key);
  assert.is(Buffer.from(g.value!).toString(), `v:${key}`);
  await oldLeader.restart();
  // Writes still work on every shard with the node back.
  shards = await cluster.leaders('default');
  for (const s of shards) assert.is((await cluster.client(s.leader).put(s.shard, { key: `/after/${s.shard}`, value: Buffer.from('x') })).puts[0]?.status, Status.OK);
});

test.run();
