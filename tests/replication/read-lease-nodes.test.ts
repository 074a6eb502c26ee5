// Read leases between real storage nodes driven as the coordinator drives them: a leader whose
// followers have been fenced by a newer term (as by an election it did not hear of: it is
// frozen, or cut off) serves no read once those NewTerms were answered, and the answers wait
// for its lease to run out (ADR 0024).
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { followerWaitMs, READ_LEASE_TIMING } from '../../src/domain/replication/read-lease.js';
import { scrapeMetrics } from '../support/metrics-scrape.js';
import { RawOxiaClient, errorInfo, expectGrpcError } from '../support/raw-client.js';
import { assignments, elect, ServingStatus, startNodes, stopNodes, waitForStatus, type ClusterNode } from './support/cluster.js';

let nodes: ClusterNode[] = [];
let client: RawOxiaClient;

test.before(async () => {
  nodes = await startNodes(3);
  for (const n of nodes) n.coordination.pushAssignments(assignments([nodes[0]!.publicAddress]));
  client = new RawOxiaClient(nodes[0]!.publicAddress);
});

test.after(async () => {
  client?.close();
  await stopNodes(nodes);
});

test('once a newer term has fenced its followers, a leader that heard nothing of it serves no read', async () => {
  const [leader, f1, f2] = nodes as [ClusterNode, ClusterNode, ClusterNode];
  await elect(0n, 1n, leader, [f1, f2]);
  await waitForStatus(leader, 0n, { status: ServingStatus.LEADER }, 'leading');
  await client.put(0n, { key: '/a', value: Buffer.from('1') });
  await waitForStatus(f1, 0n, { status: ServingStatus.FOLLOWER }, 'f1 following');
  await waitForStatus(f2, 0n, { status: ServingStatus.FOLLOWER }, 'f2 following');
  const read = await client.get(0n, '/a');
  assert.is(Buffer.from(read.value!).toString(), '1', 'the leader serves reads while its followers echo its probes');

  // An election the leader is not part of: only its followers are fenced at term 2.
  const waitedBefore = (await scrapeMetrics(f1.process.metricsAddress)).sum('oxia_server_new_term_lease_wait_seconds_sum', { shard: '0' });
  const sent = performance.now();
  await Promise.all([f1.coordination.newTerm(0n, 2n), f2.coordination.newTerm(0n, 2n)]);
  const answeredAfterMs = performance.now() - sent;
  assert.is((await leader.coordination.getStatus(0n)).status, ServingStatus.LEADER, 'the old leader still believes it leads');

  // A new leader could be installed now; the old one must not answer a read any more.
  const e = await expectGrpcError(client.get(0n, '/a'), grpc.status.ABORTED);
  assert.is(errorInfo(e)?.reason, 'NODE_IS_NOT_LEADER');

  // The follower waited for the lease: its last probe came shortly before.
  const waitedMs = ((await scrapeMetrics(f1.process.metricsAddress)).sum('oxia_server_new_term_lease_wait_seconds_sum', { shard: '0' }) - waitedBefore) * 1000;
  assert.ok(waitedMs > 0 && waitedMs <= followerWaitMs(READ_LEASE_TIMING), `f1 waited ${waitedMs.toFixed(0)} ms (answered ${answeredAfterMs.toFixed(0)} ms after NewTerm was sent)`);
  const refused = await scrapeMetrics(leader.process.metricsAddress);
  assert.ok(refused.sum('oxia_server_read_lease_waits_total', { shard: '0', outcome: 'refused' }) >= 1, 'the refusal is counted');
});

test('fenced after the previous leader accepted the term, a follower answers without waiting', async () => {
  const [, f1, f2] = nodes as [ClusterNode, ClusterNode, ClusterNode];
  // f1 leads term 3 with f2 following; f2 echoes f1's probes.
  await elect(0n, 3n, f1, [f2], 3);
  for (const n of nodes) n.coordination.pushAssignments(assignments([f1.publicAddress]));
  await waitForStatus(f1, 0n, { status: ServingStatus.LEADER }, 'f1 leading');
  await waitForStatus(f2, 0n, { status: ServingStatus.FOLLOWER }, 'f2 following');
  const f1Client = new RawOxiaClient(f1.publicAddress);
  try {
    await f1Client.put(0n, { key: '/b', value: Buffer.from('2') });
    assert.is(Buffer.from((await f1Client.get(0n, '/b')).value!).toString(), '2');
  } finally {
    f1Client.close();
  }
  const waitedSum = async (): Promise<number> => (await scrapeMetrics(f2.process.metricsAddress)).sum('oxia_server_new_term_lease_wait_seconds_sum', { shard: '0' });
  const before = await waitedSum();
  // As the coordinator moves a leader: the leader first, then the others with the hint.
  await f1.coordination.newTerm(0n, 4n);
  await f2.coordination.newTerm(0n, 4n, {}, true);
  assert.is(await waitedSum(), before, 'f2 did not wait');
});

test.run();
