// Shard split (ADR 0025) seen by a client's sessions and notification subscriptions, on a
// real 3-node cluster (RF 3) with a real coordinator: a session's ephemeral records outlive
// the split while the client lives (it keeps the session alive on both children), go when it
// closes the session or dies; a subscription goes on across the split and misses nothing
// written before, during or after it.
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GrpcAdminClient } from '../../src/adapters/admin-client/grpc-admin-client.js';
import { OxiaClient, type Notification } from '../../src/adapters/client/index.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import { routingHash } from '../../src/domain/sharding/hash.js';
import { rangeContains } from '../../src/domain/sharding/hash-range.js';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { killAllChildren, spawnTs } from './support/children.js';
import { shardsOf, waitSplitDone } from './support/split-check.js';

const S = suite('cluster: shard split with sessions and notifications');
const SESSION_TIMEOUT_MS = 3_000;
const holderScript = fileURLToPath(new URL('./support/ephemeral-holder.ts', import.meta.url));
let cluster: TestCluster;
let admin: GrpcAdminClient;

S.before(async () => {
  cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 1, rf: 3 }] });
  admin = new GrpcAdminClient(String(cluster.coordinator.serving.publicAddress), { security: PLAINTEXT, requestTimeoutMs: 20_000 });
  await waitSplitDone(cluster, 1);
});

S.after(async () => {
  killAllChildren();
  admin?.close();
  await cluster?.close();
});

/** Splits the namespace's first shard; resolves once both children are led (and the parent gone). */
async function splitFirstShard(): Promise<{ parent: bigint; children: { shard: bigint; min: number; max: number }[]; ms: number }> {
  const before = shardsOf(cluster.readStatus());
  const parent = before[0]!.shard;
  const started = Date.now();
  await admin.call('splitShard', { namespace: 'default', shard: parent, splitPoint: undefined });
  await waitSplitDone(cluster, before.length + 1);
  const ms = Date.now() - started;
  const known = new Set(before.map((s) => s.shard));
  const children = shardsOf(cluster.readStatus())
    .filter((s) => !known.has(s.shard))
    .map((s) => ({ shard: s.shard, min: s.metadata.int32HashRange.min, max: s.metadata.int32HashRange.max }));
  return { parent, children, ms };
}

function childOf(key: string, children: readonly { shard: bigint; min: number; max: number }[]): bigint | undefined {
  return children.find((c) => rangeContains(c, routingHash(key)))?.shard;
}

S('ephemeral records live on in the children while their client lives, and go when it closes or dies', async () => {
  const address = cluster.nodes[0]!.publicAddress;
  const owner = await OxiaClient.connect(address, { sessionTimeoutMs: SESSION_TIMEOUT_MS, requestTimeoutMs: 60_000 });
  const checker = await OxiaClient.connect(cluster.nodes[1]!.publicAddress, { requestTimeoutMs: 60_000 });
  const holder = spawnTs(holderScript, [cluster.nodes[2]!.publicAddress, '/dead/', '20', String(SESSION_TIMEOUT_MS)]);
  try {
    const keys = Array.from({ length: 40 }, (_, i) => `/eph/${String(i).padStart(3, '0')}`);
    const before = await Promise.all(keys.map((k) => owner.put(k, 'mine', { ephemeral: true })));
    const sessionIds = new Set(before.map((p) => p.version.sessionId));
    assert.is(sessionIds.size, 1, 'one shard, one session');
    await waitFor(() => holder.lines.some((l) => l.includes('"ready"')) || holder.process.exitCode !== null, 'the holder process wrote its records', 60_000);
    assert.is(holder.process.exitCode, null, `holder exited: ${holder.stderr()}`);

    // Ephemeral puts go on through the split (retried while the parent is frozen), on the one session.
    let stop = false;
    const duringIds = new Set<number | undefined>();
    let duringCount = 0;
    const during = (async () => {
      for (let i = 0; !stop; i++) {
        duringIds.add((await owner.put(`/ephd/${String(i).padStart(5, '0')}`, 'mine', { ephemeral: true })).version.sessionId);
        duringCount++;
      }
    })();
    const { children, ms } = await splitFirstShard();
    stop = true;
    await during;
    assert.equal([...duringIds], [...sessionIds], 'ephemeral puts during the split used the session made before it');
    const splitDoneAt = Date.now();
    assert.is(new Set(keys.map((k) => childOf(k, children))).size, 2, 'the records are in both children');

    // The owner keeps its session alive on both children: the records outlive several
    // session timeouts counted from the children's election.
    let checks = 0;
    while (Date.now() - splitDoneAt < 4 * SESSION_TIMEOUT_MS) {
      const listed = await checker.list('/eph/', '/eph/~');
      assert.is(listed.length, keys.length, `all ephemeral records present ${Date.now() - splitDoneAt} ms after the split`);
      checks++;
      await new Promise((r) => setTimeout(r, 250)); // the interval between checks, not a synchronisation
    }
    // The same session takes new ephemeral records on each child.
    for (const child of children) {
      const key = Array.from({ length: 1000 }, (_, i) => `/eph/new-${String(i).padStart(4, '0')}`).find((k) => childOf(k, [child]) !== undefined)!;
      const put = await owner.put(key, 'mine', { ephemeral: true });
      assert.ok(sessionIds.has(put.version.sessionId), `shard ${child}: session ${put.version.sessionId} is the one created before the split`);
    }
    console.log(`split took ${ms} ms; ephemeral records checked ${checks} times over ${Date.now() - splitDoneAt} ms after it`);

    // A client that dies: its session expires in both children, its records go.
    assert.is((await checker.list('/dead/', '/dead/~')).length, 20, 'the holder records survived the split');
    holder.process.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => (await checker.list('/dead/', '/dead/~')).length === 0, 'the dead client records to go', 60_000, 100);
    console.log(`records of the killed client gone ${Date.now() - killedAt} ms after the kill (session timeout ${SESSION_TIMEOUT_MS} ms)`);
    assert.is((await checker.list('/eph/', '/eph/~')).length, keys.length + children.length, 'the live client records stay');
    assert.is((await checker.list('/ephd/', '/ephd/~')).length, duringCount, 'and those put during the split');

    // Closing the client closes the session on both children: every record goes.
    await owner.close();
    await waitFor(async () => (await checker.list('/eph/', '/eph/~')).length === 0, 'the closed session records to go', 30_000, 100);
    assert.is((await checker.list('/ephd/', '/ephd/~')).length, 0, `the ${duringCount} records put during the split went too`);
  } finally {
    holder.process.kill('SIGKILL');
    await owner.close();
    await checker.close();
  }
});

/** Counts the notifications of keys under /n/ a subscription delivers. */
function count(subscription: AsyncIterable<Notification>, seen: Map<string, number>): Promise<void> {
  return (async () => {
    for await (const n of subscription) if (n.key.startsWith('/n/')) seen.set(n.key, (seen.get(n.key) ?? 0) + 1);
  })();
}

S('a notification subscription goes on across a split: every write before, during and after it, once', async () => {
  const address = cluster.nodes[0]!.publicAddress;
  const subscriber = await OxiaClient.connect(address, { requestTimeoutMs: 60_000 });
  const writer = await OxiaClient.connect(cluster.nodes[1]!.publicAddress, { requestTimeoutMs: 120_000 });
  const seen = new Map<string, number>();
  const subscription = subscriber.getNotifications();
  // Not read until after the split: the parent's stream stalls (the client buffers 1000
  // notifications), so most of what was written before the split reaches this subscriber
  // only from the children's copies of the parent's notification batches.
  const lagging = subscriber.getNotifications();
  const lagged = new Map<string, number>();
  const reading = count(subscription, seen);
  let laggingRead: Promise<void> | undefined;
  try {
    // Positioned once a write through the subscriber's own client is seen.
    await subscriber.put('/n/probe', 'x');
    await waitFor(() => seen.has('/n/probe'), 'the subscription to be positioned', 30_000);
    const written: string[] = ['/n/probe'];
    for (let i = 0; i < 2000; i += 100) {
      const keys = Array.from({ length: 100 }, (_, j) => `/n/before/${String(i + j).padStart(5, '0')}`);
      await Promise.all(keys.map((k) => writer.put(k, 'v')));
      written.push(...keys);
    }
    // Writes go on through the split (retried while the parent is frozen).
    let stop = false;
    const during = (async () => {
      for (let i = 0; !stop; i++) {
        await writer.put(`/n/during/${String(i).padStart(5, '0')}`, 'v');
        written.push(`/n/during/${String(i).padStart(5, '0')}`);
      }
    })();
    const { children } = await splitFirstShard();
    stop = true;
    await during;
    const after: string[] = [];
    for (let i = 0; i < 200; i++) after.push(`/n/after/${i}`);
    for (const key of after) await writer.put(key, 'v');
    written.push(...after);
    const inChild = new Set(after.map((k) => childOf(k, children)).filter((c) => c !== undefined));
    assert.is(inChild.size, 2, 'the writes after the split reach both children');

    await waitFor(() => written.every((k) => seen.has(k)), 'every write to be notified', 60_000, 100);
    const repeated = written.filter((k) => seen.get(k)! > 1);
    console.log(`${written.length} writes notified (${written.filter((k) => k.startsWith('/n/during/')).length} during the split); ${repeated.length} notified more than once`);
    assert.equal(repeated, [], 'each write notified once');

    laggingRead = count(lagging, lagged);
    await waitFor(() => written.every((k) => lagged.has(k)), 'every write to be notified to the lagging subscriber', 60_000, 100);
    assert.equal(written.filter((k) => lagged.get(k)! > 1), [], 'each write notified once to the lagging subscriber');
  } finally {
    subscription.close();
    lagging.close();
    await reading;
    await laggingRead;
    await subscriber.close();
    await writer.close();
  }
});

S.run();
