// A follower that was down while the leader's WAL was trimmed past its head catches up by
// snapshot (SendSnapshot, chunks of at most 256 KiB), then by streaming from the snapshot's
// offset. Tiny WAL segments and a 1 s retention make the trimming happen within the test.
// A follower that lost all its data gets a snapshot too, even from a leader whose log is whole.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Status } from '../../src/domain/wire/client.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { assignments, elect, NAMESPACE, ServingStatus, startNodes, stopNodes, valuesThatDiffer, waitForStatus, walFirstOffset, type ClusterNode } from './support/cluster.js';


for (const kv of ['sqlite', 'level'] as const) test(`a follower behind the first entry of the leader log is brought back by a snapshot (--kv ${kv})`, async () => {
  const nodes = await startNodes(3, {
    kv,
    extraArgs: ['--wal-segment-size-bytes', '4096', '--wal-retention-time', '1s', '--retention-check-interval', '100ms'],
  });
  const [n0, n1, n2] = nodes as [ClusterNode, ClusterNode, ClusterNode];
  const client = new RawOxiaClient(n0.publicAddress);
  try {
    await elect(0n, 1n, n0, [n1, n2]);
    for (const n of nodes) n.coordination.pushAssignments(assignments([n0.publicAddress]));
    await waitFor(async () => (await client.get(0n, '/probe').then(() => true, () => false)), 'n0 to serve');

    const expected = new Map<string, string | undefined>();
    const put = async (key: string, value: string): Promise<void> => {
      const r = await client.put(0n, { key, value: Buffer.from(value) });
      assert.is(r.puts[0]?.status, Status.OK);
      expected.set(key, value);
    };
    for (let i = 0; i < 50; i++) await put(`/early/${i}`, `early-${i}`);
    const early = await n0.coordination.getStatus(0n);
    const caughtUp = await waitForStatus(n2, 0n, { headAtLeast: early.headOffset, commitAtLeast: early.commitOffset }, 'n2 to hold the early writes');
    await n2.process.kill9();

    // While n2 is down: many small writes (rolling 4 KiB segments), overwrites, deletes,
    // and values larger than a snapshot chunk.
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 60; i++) await put(`/while-down/w${w}/${i}`, `${w}-${i}-${'x'.repeat(200)}`);
      }),
    );
    for (let i = 0; i < 50; i += 5) await put(`/early/${i}`, `rewritten-${i}`);
    for (let i = 1; i < 50; i += 5) {
      const d = await client.del(0n, { key: `/early/${i}` });
      assert.is(d.deletes[0]?.status, Status.OK);
      expected.set(`/early/${i}`, undefined);
    }
    const big = (seed: string, bytes: number) => seed.repeat(Math.ceil(bytes / seed.length)).slice(0, bytes);
    await put('/big/1', big('big-one|', 1_500_000));
    await put('/big/2', big('second-big|', 2_300_000));

    // Retention trims the leader's log past what n2 holds (never past the commit offset).
    await waitFor(() => walFirstOffset(n0) > caughtUp.headOffset + 1n, "the leader's WAL to be trimmed past n2's head", 30_000, 100);
    const leaderStatus = await n0.coordination.getStatus(0n);
    assert.ok(walFirstOffset(n0) <= leaderStatus.commitOffset + 1n, 'retention never trims past the commit offset');

    await n2.process.restart();
    await waitForStatus(n2, 0n, { status: ServingStatus.FOLLOWER, headAtLeast: leaderStatus.headOffset, commitAtLeast: leaderStatus.commitOffset }, 'n2 to catch up', 30_000);
    assert.ok(n0.process.logs().some((l) => l.includes('sending a snapshot')), 'the leader sent a snapshot');
    const installed = n2.process.logs().find((l) => l.includes('snapshot installed'));
    assert.ok(installed, 'n2 installed a snapshot');
    assert.ok(JSON.parse(installed).chunks >= 4, `the 3.8 MB of big values travelled in several chunks: ${installed}`);

    // Streaming resumes after the snapshot's offset.
    for (let i = 0; i < 30; i++) await put(`/after-snapshot/${i}`, `after-${i}`);
    const after = await n0.coordination.getStatus(0n);
    await waitForStatus(n2, 0n, { headAtLeast: after.headOffset, commitAtLeast: after.commitOffset }, 'n2 to stream after the snapshot');

    // n2 holds exactly the leader's data: let it lead term 2 and read everything back.
    await elect(0n, 2n, n2, [n0, n1]);
    for (const n of nodes) n.coordination.pushAssignments(assignments([n2.publicAddress]));
    const c2 = new RawOxiaClient(n2.publicAddress);
    try {
      await waitFor(async () => (await c2.get(0n, '/probe').then(() => true, () => false)), 'n2 to serve');
      const wrong = await valuesThatDiffer(c2, 0n, expected, 20);
      assert.equal(wrong.slice(0, 10), [], `${wrong.length} of ${expected.size} keys differ on the snapshotted node`);
    } finally {
      c2.close();
    }
  } finally {
    client.close();
    await stopNodes(nodes);
  }
});

test('a follower whose data was wiped is brought back by a snapshot, also when the leader still holds its whole log', async () => {
  const nodes = await startNodes(3);
  const [n0, n1, n2] = nodes as [ClusterNode, ClusterNode, ClusterNode];
  const client = new RawOxiaClient(n0.publicAddress);
  try {
    await elect(0n, 1n, n0, [n1, n2]);
    for (const n of nodes) n.coordination.pushAssignments(assignments([n0.publicAddress]));
    await waitFor(async () => (await client.get(0n, '/probe').then(() => true, () => false)), 'n0 to serve');
    for (let i = 0; i < 20; i++) assert.is((await client.put(0n, { key: `/k/${i}`, value: Buffer.from(`v-${i}`) })).puts[0]?.status, Status.OK);
    const leaderStatus = await n0.coordination.getStatus(0n);
    await waitForStatus(n2, 0n, { commitAtLeast: leaderStatus.commitOffset }, 'n2 to hold the writes');

    // Restarted empty: it answers the leader's stream as not a member of the shard (it never joined
    // as far as it knows), while the leader's log still starts at offset 0.
    await n2.process.kill9();
    for (const dir of ['db', 'wal']) rmSync(join(n2.process.dataDir, dir), { recursive: true, force: true });
    assert.is(walFirstOffset(n0), 0n, "the leader's log is whole");
    await n2.process.restart();
    await waitForStatus(n2, 0n, { status: ServingStatus.FOLLOWER, commitAtLeast: leaderStatus.commitOffset }, 'the wiped n2 to catch up', 30_000);
    assert.ok(n2.process.logs().some((l) => l.includes('snapshot installed')), 'n2 installed a snapshot');
  } finally {
    client.close();
    await stopNodes(nodes);
  }
});

test.run();
