// Long fault injection (npm run test:long): round after round, under a write load, one
// node is SIGKILLed at a random moment (the leader in most rounds, a follower in others),
// the survivors elect a new leader at the next term as Oxia's coordinator would, the
// killed node restarts and rejoins as a follower. After every round every acknowledged
// write must be on the leader, and at the end every node holds the same log.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareEntryIds, type EntryId } from '../../src/domain/wal/log-entry.js';
import { Status } from '../../src/domain/wire/client.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { assignments, elect, ServingStatus, startNodes, stopNodes, waitForStatus, type ClusterNode } from './support/cluster.js';

const ROUNDS = Number(process.env.REPLICATION_ROUNDS ?? 12);

test(`${ROUNDS} rounds of kill -9 under load: no acknowledged write lost`, async () => {
  const nodes = await startNodes(3, { extraArgs: ['--wal-segment-size-bytes', '65536', '--wal-retention-time', '2s', '--retention-check-interval', '200ms'] });
  const acked = new Map<string, { value: string; versionId: bigint }>();
  try {
    let term = 1n;
    let leader = nodes[0]!;
    await elect(0n, term, leader, nodes.slice(1));
    const push = (): void => {
      for (const n of nodes) if (n.process.running) n.coordination.pushAssignments(assignments([leader.publicAddress]));
    };
    push();

    for (let round = 0; round < ROUNDS; round++) {
      const client = new RawOxiaClient(leader.publicAddress);
      await waitFor(async () => (await client.get(0n, '/probe').then(() => true, () => false)), `round ${round}: ${leader.name} to serve`);
      let stop = false;
      const writers = Array.from({ length: 12 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const key = `/r${round}/w${w}/${i}`;
          const value = `${key}=${'z'.repeat((i * 7) % 300)}`;
          try {
            const r = await client.put(0n, { key, value: Buffer.from(value) });
            const put = r.puts[0];
            if (put?.status === Status.OK && put.version) acked.set(key, { value, versionId: put.version.versionId });
          } catch {
            return;
          }
        }
      });
      const before = acked.size;
      const target = before + 100 + Math.floor(Math.random() * 1500);
      await waitFor(() => acked.size >= target, `round ${round}: writes`, 60_000, 5);
      const killLeader = round % 3 !== 2;
      const followers = nodes.filter((n) => n !== leader);
      const victim = killLeader ? leader : followers[Math.floor(Math.random() * followers.length)]!;
      await victim.process.kill9();
      if (!killLeader) {
        // The leader goes on with one follower; then the victim returns and catches up.
        await waitFor(() => acked.size >= target + 200, `round ${round}: writes with a follower down`, 60_000, 5);
      }
      stop = true;
      await Promise.all(writers);
      client.close();

      if (killLeader) {
        term++;
        const survivors = nodes.filter((n) => n !== victim);
        const heads = new Map<ClusterNode, EntryId>();
        for (const n of survivors) heads.set(n, await n.coordination.newTerm(0n, term));
        const [a, b] = survivors as [ClusterNode, ClusterNode];
        const [next, follower] = compareEntryIds(heads.get(a)!, heads.get(b)!) >= 0 ? [a, b] : [b, a];
        await next.coordination.becomeLeader(0n, term, 3, { [follower.name]: heads.get(follower)! });
        leader = next;
        push();
      }

      // Every acknowledged write is on the (new) leader.
      const reader = new RawOxiaClient(leader.publicAddress);
      try {
        await waitFor(async () => (await reader.get(0n, '/probe').then(() => true, () => false)), `round ${round}: new leader to serve`);
        const keys = [...acked.keys()];
        const missing: string[] = [];
        for (let i = 0; i < keys.length; i += 500) {
          const batch = keys.slice(i, i + 500);
          const got = await reader.read(0n, batch.map((key) => ({ key, includeValue: true })));
          got.forEach((g, j) => {
            const a = acked.get(batch[j]!)!;
            if (g.status !== Status.OK || Buffer.from(g.value ?? []).toString() !== a.value || g.version?.versionId !== a.versionId) missing.push(batch[j]!);
          });
        }
        assert.equal(missing.slice(0, 5), [], `round ${round}: ${missing.length} of ${acked.size} acknowledged writes lost`);
      } finally {
        reader.close();
      }

      // The victim returns; a killed leader must be fenced and re-added, a follower rejoins by itself.
      await victim.process.restart();
      if (killLeader) {
        const head = await victim.coordination.newTerm(0n, term);
        await leader.coordination.addFollower(0n, term, victim.name, head);
        push();
      }
      const status = await leader.coordination.getStatus(0n);
      await waitForStatus(victim, 0n, { status: ServingStatus.FOLLOWER, headAtLeast: status.headOffset, commitAtLeast: status.commitOffset }, `round ${round}: ${victim.name} to catch up`, 60_000);
    }

    // All three hold the same log.
    const final = await leader.coordination.getStatus(0n);
    for (const n of nodes) {
      const s = await waitForStatus(n, 0n, { commitAtLeast: final.commitOffset }, `${n.name} at the final commit offset`);
      assert.is(s.headOffset, final.headOffset);
      assert.is(s.term, term);
    }
  } finally {
    await stopNodes(nodes);
  }
});

test.run();
