// Failover with real processes: the leader of a shard is SIGKILLed under a write load, the
// test fences the survivors at the next term and makes the one with the highest head the
// leader, as Oxia's coordinator does; every acknowledged write must be there. Then a node
// that was down (the old leader, later a follower) comes back behind and catches up.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareEntryIds, type EntryId } from '../../src/domain/wal/log-entry.js';
import { Status } from '../../src/domain/wire/client.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { assignments, elect, ServingStatus, startNodes, stopNodes, waitForStatus, type ClusterNode } from './support/cluster.js';

interface Acked {
  readonly value: string;
  readonly versionId: bigint;
}

/** Writers put distinct keys to `leader` until stopped or the leader dies; every acknowledged put is recorded. */
function writeLoad(leader: ClusterNode, prefix: string, acked: Map<string, Acked>, writers = 16): { stop(): Promise<void> } {
  const client = new RawOxiaClient(leader.publicAddress);
  let stopped = false;
  const loops = Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; !stopped; i++) {
      const key = `${prefix}/w${w}/${i}`;
      const value = `${key}:${'v'.repeat(i % 100)}`;
      try {
        const r = await client.put(0n, { key, value: Buffer.from(value) });
        const put = r.puts[0];
        if (put?.status === Status.OK && put.version) acked.set(key, { value, versionId: put.version.versionId });
      } catch {
        return; // the leader died under us: unacknowledged, nothing to check
      }
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      client.close();
    },
  };
}

async function assertAllPresent(node: ClusterNode, acked: ReadonlyMap<string, Acked>, what: string): Promise<void> {
  const client = new RawOxiaClient(node.publicAddress);
  try {
    const missing: string[] = [];
    const keys = [...acked.keys()];
    for (let i = 0; i < keys.length; i += 200) {
      const batch = keys.slice(i, i + 200);
      const got = await client.read(0n, batch.map((key) => ({ key, includeValue: true })));
      got.forEach((g, j) => {
        const key = batch[j]!;
        const a = acked.get(key)!;
        if (g.status !== Status.OK || Buffer.from(g.value ?? []).toString() !== a.value || g.version?.versionId !== a.versionId) {
          missing.push(`${key} (status ${g.status}, version ${g.version?.versionId} vs ${a.versionId})`);
        }
      });
    }
    assert.equal(missing.slice(0, 10), [], `${what}: ${missing.length} of ${acked.size} acknowledged writes lost or changed`);
  } finally {
    client.close();
  }
}

function pushAssignments(nodes: readonly ClusterNode[], leader: ClusterNode): void {
  for (const n of nodes) if (n.process.running) n.coordination.pushAssignments(assignments([leader.publicAddress]));
}

async function waitServing(leader: ClusterNode): Promise<void> {
  const client = new RawOxiaClient(leader.publicAddress);
  try {
    await waitFor(async () => (await client.get(0n, '/probe').then(() => true, () => false)), `${leader.name} to serve shard 0`);
  } finally {
    client.close();
  }
}

test('kill -9 of the leader under load, then of a follower: no acknowledged write is lost, every node catches up', async () => {
  const nodes = await startNodes(3);
  const [n0, n1, n2] = nodes as [ClusterNode, ClusterNode, ClusterNode];
  try {
    const acked = new Map<string, Acked>();
    await elect(0n, 1n, n0, [n1, n2]);
    pushAssignments(nodes, n0);

    // 1. The leader dies at a random moment under load.
    const load = writeLoad(n0, '/before-kill', acked);
    const target = 200 + Math.floor(Math.random() * 1500);
    await waitFor(() => acked.size >= target, `${target} acknowledged writes`, 30_000, 5);
    await n0.process.kill9();
    await load.stop();

    // 2. Fence the survivors at term 2; the highest head leads.
    const heads = new Map<ClusterNode, EntryId>();
    for (const n of [n1, n2]) heads.set(n, await n.coordination.newTerm(0n, 2n));
    const [leader, follower] = compareEntryIds(heads.get(n1)!, heads.get(n2)!) >= 0 ? [n1, n2] : [n2, n1];
    await leader.coordination.becomeLeader(0n, 2n, 3, { [follower.name]: heads.get(follower)! });
    pushAssignments(nodes, leader);
    await waitServing(leader);
    await assertAllPresent(leader, acked, 'after the leader was killed');

    // 3. The old leader comes back, is fenced at the new term and added as a follower:
    //    its log may hold entries nobody acknowledged; it is truncated and catches up.
    const more = writeLoad(leader, '/after-failover', acked, 4);
    await n0.process.restart();
    const h0 = await n0.coordination.newTerm(0n, 2n);
    await leader.coordination.addFollower(0n, 2n, n0.name, h0);
    await waitFor(() => acked.size >= target + 200, 'writes on the new leader', 30_000, 5);
    await more.stop();
    const leaderStatus = await leader.coordination.getStatus(0n);
    await waitForStatus(n0, 0n, { status: ServingStatus.FOLLOWER, headAtLeast: leaderStatus.headOffset, commitAtLeast: leaderStatus.commitOffset }, 'the old leader to catch up');

    // 4. A follower is down while the leader goes on with the other one; it comes back
    //    (its term and log on disk) and the leader's cursor brings it up to date.
    await follower.process.kill9();
    const whileDown = writeLoad(leader, '/follower-down', acked, 8);
    await waitFor(() => acked.size >= target + 700, 'writes while a follower is down', 30_000, 5);
    await whileDown.stop();
    await follower.process.restart();
    const final = await leader.coordination.getStatus(0n);
    await waitForStatus(follower, 0n, { status: ServingStatus.FOLLOWER, headAtLeast: final.headOffset, commitAtLeast: final.commitOffset }, 'the restarted follower to catch up');

    // 5. The caught-up follower holds everything: make it the leader of term 3 and read.
    await elect(0n, 3n, follower, [leader, n0]);
    pushAssignments(nodes, follower);
    await waitServing(follower);
    await assertAllPresent(follower, acked, 'on the follower that was down');
    const w = await new RawOxiaClient(follower.publicAddress).put(0n, { key: '/term3', value: Buffer.from('ok') });
    assert.is(w.puts[0]?.status, Status.OK);
  } finally {
    await stopNodes(nodes);
  }
});

test.run();
