// The grpc-js StorageNodeClient against a FakeStorageNode on loopback: calls, error kinds,
// health classification (serving, not serving, unreachable, timeout), watch and assignment streams.
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GrpcStorageNodeClient } from '../../src/adapters/coordination-client/grpc-storage-node-client.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import { HealthService } from '../../src/adapters/grpc-protocol/service-definitions.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import { ServingStatus } from '../../src/domain/wire/replication.js';
import { waitFor } from '../support/wait.js';
import { FakeStorageNode } from './support/fake-storage-node.js';

const key = { namespace: 'default', shard: 3n };

test('coordination calls reach the node and its refusals come back as typed errors', async () => {
  const node = await new FakeStorageNode('a').start();
  const client = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
  try {
    node.setHead(3n, 'default', { term: 1n, offset: 9n });
    const r = await client.newTerm(node.address, { ...key, term: 2n, options: { enableNotifications: true, keySorting: 2 } });
    assert.equal(r.headEntryId, { term: 1n, offset: 9n });
    await client.becomeLeader(node.address, { ...key, term: 2n, replicationFactor: 1, followerMaps: {}, featuresSupported: [] });
    const s = await client.getStatus(node.address, { shard: 3n });
    assert.is(s.status, ServingStatus.LEADER);
    assert.is(s.term, 2n);
    const stale = await client.newTerm(node.address, { ...key, term: 1n }).catch((e: unknown) => e);
    assert.ok(isOxiaError(stale, 'InvalidTerm'), String(stale));
    const notLeader = await client
      .addFollower(node.address, { ...key, term: 5n, followerName: 'x:1', observer: false })
      .catch((e: unknown) => e);
    assert.ok(isOxiaError(notLeader, 'InvalidTerm'), String(notLeader));
    await client.deleteShard(node.address, { ...key, term: 2n });
    assert.is(node.shards.has(3n), false);
  } finally {
    await client.close();
    node.stop();
  }
});

test('an unreachable node is ResourceUnavailable; an abandoned call is Aborted', async () => {
  const node = await new FakeStorageNode('b').start();
  const address = node.address;
  node.stop();
  const client = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
  try {
    const e = await client.getStatus(address, { shard: 0n }).catch((x: unknown) => x);
    assert.ok(isOxiaError(e, 'ResourceUnavailable'), String(e));
    const controller = new AbortController();
    controller.abort();
    const aborted = await client.getStatus(address, { shard: 0n }, controller.signal).catch((x: unknown) => x);
    assert.ok(isOxiaError(aborted, 'Aborted'), String(aborted));
  } finally {
    await client.close();
  }
});

test('health checks tell serving, not serving, unreachable and slow apart', async () => {
  const node = await new FakeStorageNode('c').start();
  // A node whose health service never answers.
  const hung = new grpc.Server();
  hung.addService(HealthService, { check: () => undefined, watch: () => undefined });
  const hungPort = await new Promise<number>((resolve, reject) =>
    hung.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const client = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
  try {
    assert.is(await client.checkHealth(node.address, 1_000), 'serving');
    node.setServing(false);
    assert.is(await client.checkHealth(node.address, 1_000), 'not-serving');
    assert.is(await client.checkHealth({ public: 'x:1', internal: `127.0.0.1:${hungPort}` }, 200), 'timeout');
    const address = node.address;
    node.stop();
    // The first probe may ride the connection being torn down ('failed'); then the refusal shows.
    await waitFor(async () => (await client.checkHealth(address, 1_000)) === 'unreachable', 'unreachable', 5_000);
  } finally {
    await client.close();
    hung.forceShutdown();
  }
});

test('the health watch reports changes and ends when the node goes away', async () => {
  const node = await new FakeStorageNode('d').start();
  const client = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
  const seen: string[] = [];
  let ended = false;
  try {
    const watch = client.watchHealth(node.address, { onStatus: (o) => seen.push(o), onEnd: () => (ended = true) });
    await waitFor(() => seen.length === 1, 'first status');
    node.setServing(false);
    await waitFor(() => seen.length === 2, 'second status');
    assert.equal(seen, ['serving', 'not-serving']);
    node.stop();
    await waitFor(() => ended, 'the watch ends with the node');
    watch.cancel();
  } finally {
    await client.close();
    node.stop();
  }
});

test('assignments stream: messages arrive in order; the end of the node ends the stream', async () => {
  const node = await new FakeStorageNode('e').start();
  const client = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
  let endedWith: Error | undefined;
  try {
    const stream = client.pushAssignments(node.address, (e) => (endedWith = e));
    assert.ok(stream.send({ namespaces: {}, allowedAuthorities: ['a:1'] }));
    assert.ok(stream.send({ namespaces: {}, allowedAuthorities: ['b:1'] }));
    await waitFor(() => node.assignments.length === 2, 'two messages');
    assert.equal(node.assignments.map((a) => a.allowedAuthorities[0]), ['a:1', 'b:1']);
    node.stop();
    await waitFor(() => endedWith !== undefined, 'stream end reported');
    assert.is(stream.send({ namespaces: {}, allowedAuthorities: [] }), false);
  } finally {
    await client.close();
    node.stop();
  }
});

test.run();
