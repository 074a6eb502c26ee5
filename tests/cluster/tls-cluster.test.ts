// A replicated cluster with mutual TLS on every internal port: 3 `oxia-ts server` whose
// internal listeners require a client certificate from the test CA, their replication calls and
// the coordinator's calls made with --peer-tls-*, the coordinator's own listener on TLS too.
// Leaders elected (coordinator -> servers) and writes committed at replication factor 3
// (leader -> followers) prove both kinds of calls work; a plaintext caller is refused; a
// leader killed with SIGKILL is replaced over mTLS with no acknowledged write lost.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OxiaClient } from '../../src/adapters/client/index.js';
import { GrpcStorageNodeClient } from '../../src/adapters/coordination-client/grpc-storage-node-client.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import { makeCa } from '../support/certs.js';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { missingAcks, WriteLoad } from './support/write-load.js';

const dir = mkdtempSync(join(tmpdir(), 'oxia-tls-cluster-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const ca = makeCa(dir, 'ca');
const nodeCert = ca.issue('node');
const coordinatorCert = ca.issue('coordinator');

let cluster: TestCluster;

test.before(async () => {
  cluster = await TestCluster.start({
    nodes: 3,
    namespaces: [{ name: 'default', shards: 3, rf: 3 }],
    serverArgs: [
      '--internal-tls-cert-file', nodeCert.certFile, '--internal-tls-key-file', nodeCert.keyFile,
      '--internal-tls-trusted-ca-file', ca.certFile, '--internal-tls-client-auth',
      '--peer-tls-cert-file', nodeCert.certFile, '--peer-tls-key-file', nodeCert.keyFile, '--peer-tls-trusted-ca-file', ca.certFile,
    ],
    coordinatorArgs: [
      '--tls-cert-file', coordinatorCert.certFile, '--tls-key-file', coordinatorCert.keyFile,
      '--peer-tls-cert-file', coordinatorCert.certFile, '--peer-tls-key-file', coordinatorCert.keyFile, '--peer-tls-trusted-ca-file', ca.certFile,
    ],
  });
});

test.after(async () => {
  await cluster?.close();
});

test('with mTLS on the internal ports, leaders are elected and replicated writes and reads work', async () => {
  const shards = await cluster.leaders('default');
  assert.is(shards.length, 3);
  const client = await OxiaClient.connect(cluster.nodes[0]!.publicAddress, { requestTimeoutMs: 20_000, logger: { warn: () => {} } });
  try {
    const keys = Array.from({ length: 30 }, (_, i) => `/tls/k-${i}`);
    for (const key of keys) await client.put(key, `v:${key}`);
    for (const key of keys) assert.is(Buffer.from((await client.get(key)).value!).toString(), `v:${key}`);
  } catch (e) {
    throw new Error(`${String(e)}\n${cluster.logs()}`);
  } finally {
    await client.close();
  }
});

test('a plaintext caller is refused on a server internal port', async () => {
  const probe = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
  try {
    const node = cluster.nodes[0]!;
    const seen = await probe.checkHealth({ public: node.publicAddress, internal: node.internalAddress }, 2_000);
    assert.is.not(seen, 'serving');
  } finally {
    await probe.close();
  }
});

test('with mTLS inside, kill -9 of a shard leader under load loses no acknowledged write', async () => {
  const shards = await cluster.leaders('default');
  const survivor = cluster.nodes[0]!;
  const victimShard = shards.find((s) => s.leader !== survivor.publicAddress)!;
  const victim = cluster.nodeByPublic(victimShard.leader);
  const load = await WriteLoad.start(survivor.publicAddress, shards, 4, '/tls-failover');
  try {
    await waitFor(() => load.acksOn(victimShard.shard).length >= 20, 'writes on the victim shard before the crash', 30_000);
    const killedAt = Date.now();
    await victim.kill9();
    // A new leader is elected over mTLS (coordinator -> servers) and replicates over mTLS.
    await waitFor(() => load.acksOn(victimShard.shard, killedAt).length >= 20, 'writes on the shard after the crash', 60_000);
  } finally {
    await load.stop();
  }
  const status = cluster.readStatus().namespaces.get('default')!.shards.get(victimShard.shard)!;
  assert.is.not(status.leader!.public, victim.publicAddress);
  assert.equal(await missingAcks(cluster, load.acks), [], 'every acknowledged write is readable');
  await victim.restart();
  await cluster.leaders('default');
});

test.run();
