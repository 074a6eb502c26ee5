// Readiness and /metrics of real `oxia-ts server` processes, driven the way Oxia's coordinator
// drives them (tests/replication/support): a node answers NOT_SERVING for `oxia-readiness`
// until its first shard assignments, even while it already leads a shard; after writes and
// reads, the leader's and the followers' series count exactly what the test did, their roles
// and offsets match GetStatus, follower lag drains to 0, a snapshot transfer is counted on both
// ends, and a deleted shard's series disappear.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PutRequest, Status } from '../../src/domain/wire/client.js';
import { HealthClient, ServingStatus as Health } from '../support/health-client.js';
import { scrapeMetrics, type MetricSamples } from '../support/metrics-scrape.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { assignments, elect, NAMESPACE, ServingStatus, startNodes, stopNodes, waitForStatus, walFirstOffset, type ClusterNode } from './support/cluster.js';

const SHARD = { oxia_namespace: NAMESPACE, shard: '0' };

let nodes: ClusterNode[] = [];
let client: RawOxiaClient | undefined;
const healthClients: HealthClient[] = [];

function health(address: string): HealthClient {
  const c = new HealthClient(address);
  healthClients.push(c);
  return c;
}

function metricsOf(node: ClusterNode): Promise<MetricSamples> {
  return scrapeMetrics(node.process.metricsAddress);
}

/** Waits until `check` passes on a fresh scrape; returns that scrape. The last failure explains a timeout. */
async function scrapeUntil(node: ClusterNode, what: string, check: (m: MetricSamples) => void, timeoutMs = 20_000): Promise<MetricSamples> {
  let last: MetricSamples | undefined;
  let lastError: unknown;
  try {
    await waitFor(
      async () => {
        last = await metricsOf(node);
        try {
          check(last);
          return true;
        } catch (error) {
          lastError = error;
          return false;
        }
      },
      what,
      timeoutMs,
      100,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last check: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  }
  return last!;
}


test.before(async () => {
  // Tiny segments and a 1 s retention, so that the snapshot test can get the leader's log trimmed.
  nodes = await startNodes(3, { extraArgs: ['--wal-segment-size-bytes', '4096', '--wal-retention-time', '1s', '--retention-check-interval', '100ms'] });
});

test.after(async () => {
  client?.close();
  for (const h of healthClients) h.close();
  await stopNodes(nodes);
});

test('oxia-readiness is NOT_SERVING until the first shard assignments arrive (even while leading); liveness and "" are SERVING; Watch reports the change', async () => {
  const [n0, n1, n2] = nodes as [ClusterNode, ClusterNode, ClusterNode];
  for (const n of nodes) {
    const pub = health(n.publicAddress);
    assert.is(await pub.check('oxia-readiness'), Health.NOT_SERVING, `${n.name}: not ready before any assignments`);
    assert.is(await pub.check(''), Health.SERVING, `${n.name}: the public server as a whole is serving`);
    assert.is(await pub.check('io.oxia.proto.v1.OxiaClient'), Health.SERVING, `${n.name}: the client API is serving`);
    assert.is(await health(n.name).check(''), Health.SERVING, `${n.name}: liveness (internal port) is serving`);
  }
  const watch = health(n0.publicAddress).watch('oxia-readiness');
  await waitFor(() => watch.seen.length === 1, 'the current readiness on the watch');
  assert.equal(watch.seen, [Health.NOT_SERVING]);

  // Leading a shard is not enough: without assignments the node cannot route a client.
  await elect(0n, 1n, n0, [n1, n2]);
  assert.is(await health(n0.publicAddress).check('oxia-readiness'), Health.NOT_SERVING, 'a leader without assignments is not ready');

  n0.coordination.pushAssignments(assignments([n0.publicAddress]));
  await waitFor(() => watch.seen.length === 2, 'the watch to report readiness');
  assert.equal(watch.seen, [Health.NOT_SERVING, Health.SERVING]);
  assert.is(await health(n0.publicAddress).check('oxia-readiness'), Health.SERVING);
  assert.is(await health(n1.publicAddress).check('oxia-readiness'), Health.NOT_SERVING, 'n1 has no assignments yet');
  watch.cancel();

  for (const n of [n1, n2]) n.coordination.pushAssignments(assignments([n0.publicAddress]));
  for (const n of [n1, n2]) {
    const h = health(n.publicAddress);
    await waitFor(async () => (await h.check('oxia-readiness')) === Health.SERVING, `${n.name} to be ready`);
  }
});

test('metrics after writes and reads: exact counts on the leader, roles, offsets, follower lag, WAL, sessions, store size, read cache', async () => {
  const [n0, n1, n2] = nodes as [ClusterNode, ClusterNode, ClusterNode];
  client = new RawOxiaClient(n0.publicAddress);
  const c = client;
  await waitFor(async () => (await c.get(0n, '/probe').then(() => true, () => false)), 'n0 to serve');
  const before = await metricsOf(n0);
  const base = (name: string, where = {}) => before.sum(name, { ...SHARD, ...where });

  // 20 single puts, one request of 3 puts, 2 deletes, 1 delete range: 24 write requests.
  const values = new Map<string, string>();
  let writtenBytes = 0;
  for (let i = 0; i < 20; i++) {
    const value = `value-${i}-${'v'.repeat(i)}`;
    assert.is((await c.put(0n, { key: `/m/${i}`, value: Buffer.from(value) })).puts[0]?.status, Status.OK);
    values.set(`/m/${i}`, value);
    writtenBytes += value.length;
  }
  const three = await c.write({ shard: 0n, puts: ['/t/a', '/t/b', '/t/c'].map((key) => PutRequest.fromPartial({ key, value: Buffer.from(key) })), deletes: [], deleteRanges: [] });
  assert.equal(three.puts.map((p) => p.status), [Status.OK, Status.OK, Status.OK]);
  assert.is((await c.del(0n, { key: '/m/18' })).deletes[0]?.status, Status.OK);
  assert.is((await c.del(0n, { key: '/m/19' })).deletes[0]?.status, Status.OK);
  values.delete('/m/18');
  values.delete('/m/19');
  assert.is((await c.deleteRange(0n, '/t/', '/t//')).deleteRanges[0]?.status, Status.OK);

  // 5 read requests with 17 gets (two of them of deleted keys), 2 lists, 1 range scan.
  let readBytes = 0;
  const keys = [...values.keys()];
  for (const batch of [keys.slice(0, 5), keys.slice(5, 10), [...keys.slice(10, 13), '/m/18', '/m/19']]) {
    const got = await c.read(0n, batch.map((key) => ({ key, includeValue: true })));
    assert.is(got.length, batch.length);
    for (const g of got) readBytes += g.value?.length ?? 0;
  }
  for (const key of ['/m/3', '/m/3']) readBytes += (await c.get(0n, key)).value?.length ?? 0; // the second one is a cache hit
  assert.is((await c.list(0n, '/m/', '/m//')).length, 18);
  assert.is((await c.list(0n, '/t/', '/t//')).length, 0);
  const scanned = await c.rangeScan(0n, '/m/1', '/m/2');
  for (const r of scanned) readBytes += r.value?.length ?? 0;
  assert.ok(scanned.length > 0);

  // A long timeout: no keep-alives are sent, and the session must outlive the scrapes below.
  const sessionId = await c.createSession(0n, 120_000);
  assert.ok(sessionId >= 0n);

  const status = await waitForStatus(n0, 0n, { status: ServingStatus.LEADER }, 'n0 to lead');
  assert.is(status.commitOffset, status.headOffset, 'every entry is committed once acknowledged');
  const head = Number(status.headOffset);

  const m0 = await scrapeUntil(n0, 'the leader to show its followers caught up', (m) => {
    for (const f of [n1, n2]) {
      assert.is(m.value('oxia_server_follower_ack_offset', { ...SHARD, follower: f.name }), head, `${f.name} acknowledged the head`);
      assert.is(m.value('oxia_server_follower_lag_entries', { ...SHARD, follower: f.name }), 0, `${f.name} lags no entry`);
    }
  });
  const delta = (name: string, where = {}) => m0.sum(name, { ...SHARD, ...where }) - base(name, where);

  assert.equal(m0.all('oxia_server_shard_role', SHARD).map((s) => [s.labels.role, s.value]), [['leader', 1]], 'one role series: leader');
  assert.is(delta('oxia_server_write_requests_total'), 24, 'write requests');
  // As Oxia's: counted where applied, so the session's own record (a put in its entry) is one.
  assert.is(delta('oxia_server_db_puts_total'), 23 + 1, 'puts: the clients\' and the session record');
  assert.is(delta('oxia_server_db_deletes_total'), 2, 'deletes');
  assert.is(delta('oxia_server_db_delete_ranges_total'), 1, 'delete ranges');
  assert.is(delta('oxia_server_leader_write_latency_milliseconds_count'), 24, 'one write latency per request');
  assert.ok(delta('oxia_server_leader_write_latency_milliseconds_sum') > 0, 'write latency is measured');
  assert.is(delta('oxia_server_read_requests_total'), 5, 'read requests');
  assert.is(delta('oxia_server_db_gets_total'), 17, 'gets');
  assert.is(delta('oxia_server_db_lists_total'), 2, 'lists');
  assert.is(delta('oxia_server_db_range_scans_total'), 1, 'range scans');
  assert.is(delta('oxia_server_read_bytes_total'), readBytes, 'bytes of values read');
  assert.is(delta('oxia_server_read_latency_seconds_count'), 5, 'one read latency per request');
  assert.is(m0.value('oxia_server_commit_offset', SHARD), head, 'commit offset as GetStatus says');
  assert.is(m0.value('oxia_server_head_offset', SHARD), head, 'head offset as GetStatus says');
  assert.is(m0.value('oxia_server_sessions_active', SHARD), 1, 'the session is live');
  assert.is(m0.value('oxia_server_sessions_total', { ...SHARD, event: 'created' }), 1, 'one session created');
  // A fresh node wrote its whole log itself: entries 0..head.
  assert.is(m0.value('oxia_server_wal_appended_entries_total', SHARD), head + 1, 'every entry of the log was appended once');
  assert.ok((m0.value('oxia_server_wal_append_bytes_total', SHARD) ?? 0) > writtenBytes, 'WAL bytes hold at least the values written');
  const rounds = m0.value('oxia_server_wal_sync_latency_milliseconds_count', SHARD) ?? 0;
  assert.ok(rounds >= 1 && rounds <= head + 1, `fsync rounds: ${rounds} for ${head + 1} entries`);
  assert.is(m0.value('oxia_server_wal_append_latency_milliseconds_count', SHARD), rounds, 'one write and one fsync per round');
  assert.ok((m0.value('oxia_server_apply_latency_seconds_count', SHARD) ?? 0) >= 1, 'apply batches');
  assert.ok((m0.value('oxia_server_kv_size_bytes', SHARD) ?? 0) > 0, 'store size on disk');
  assert.is(m0.value('oxia_server_wal_entries', SHARD), head + 1, 'the log holds every entry (none trimmed yet)');
  assert.ok((m0.value('oxia_server_kv_batch_commit_latency_milliseconds_count', SHARD) ?? 0) >= 1, 'store commits are timed');
  assert.ok((m0.value('oxia_server_read_cache_hits_total') ?? 0) >= 1, 'the repeated get hit the cache');
  assert.ok((m0.value('oxia_server_read_cache_misses_total') ?? 0) >= 1, 'first reads missed the cache');
  assert.is(m0.value('oxia_server_read_cache_capacity_bytes'), 100 * 1024 * 1024, 'the default --db-cache-size-mb');
  assert.ok((m0.value('oxia_server_read_cache_entries') ?? 0) >= 1, 'the cache holds records');

  for (const f of [n1, n2]) {
    const m = await scrapeUntil(f, `${f.name} to follow at the head`, (s) => {
      assert.equal(s.all('oxia_server_shard_role', SHARD).map((x) => [x.labels.role, x.value]), [['follower', 1]], 'one role series: follower');
      assert.is(s.value('oxia_server_commit_offset', SHARD), head, 'applied up to the commit offset');
      assert.is(s.value('oxia_server_wal_appended_entries_total', SHARD), head + 1, 'every entry appended once');
    });
    assert.is(m.sum('oxia_server_write_requests_total', SHARD), 0, 'followers serve no client writes');
    assert.is(m.value('oxia_server_sessions_active', SHARD), undefined, 'sessions live on the leader only');
    assert.equal(m.all('oxia_server_follower_lag_entries'), [], 'only leaders track followers');
    assert.ok((m.value('oxia_server_apply_latency_seconds_count', SHARD) ?? 0) >= 1, 'followers apply too');
    assert.ok((m.value('oxia_server_wal_sync_latency_milliseconds_count', SHARD) ?? 0) >= 1, 'followers fsync too');
    // Oxia counts database operations where they are applied: on every replica.
    assert.is(m.value('oxia_server_db_puts_total', SHARD), m0.value('oxia_server_db_puts_total', SHARD), 'followers apply the same puts');
    assert.is(m.value('oxia_server_db_deletes_total', SHARD), m0.value('oxia_server_db_deletes_total', SHARD), 'and the same deletes');
  }

  await c.closeSession(0n, sessionId);
  await scrapeUntil(n0, 'the closed session to be counted', (m) => {
    assert.is(m.value('oxia_server_sessions_active', SHARD), 0);
    assert.is(m.value('oxia_server_sessions_total', { ...SHARD, event: 'closed' }), 1);
  });
});

test('a snapshot transfer is counted by the leader (sent) and the follower (received)', async () => {
  const [n0, , n2] = nodes as [ClusterNode, ClusterNode, ClusterNode];
  const c = client!;
  const held = await n2.coordination.getStatus(0n);
  await n2.process.kill9();
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 40; i++) assert.is((await c.put(0n, { key: `/s/${w}/${i}`, value: Buffer.from('x'.repeat(300)) })).puts[0]?.status, Status.OK);
    }),
  );
  await waitFor(() => walFirstOffset(n0) > held.headOffset + 1n, "the leader's WAL to be trimmed past n2's head", 30_000, 100);
  const leader = await n0.coordination.getStatus(0n);
  await n2.process.restart();
  await waitForStatus(n2, 0n, { status: ServingStatus.FOLLOWER, headAtLeast: leader.headOffset, commitAtLeast: leader.commitOffset }, 'n2 to catch up', 30_000);

  const sent = await scrapeUntil(n0, 'the leader to count the snapshot', (m) => {
    assert.ok((m.value('oxia_server_snapshots_total', { ...SHARD, direction: 'sent', outcome: 'completed' }) ?? 0) >= 1, 'a snapshot sent');
  });
  assert.ok((sent.value('oxia_server_snapshot_bytes_total', { ...SHARD, direction: 'sent' }) ?? 0) > 40 * 300, 'its bytes');
  assert.ok((sent.value('oxia_server_snapshot_transfer_seconds_count', { ...SHARD, direction: 'sent' }) ?? 0) >= 1, 'its duration');
  const received = await metricsOf(n2);
  assert.ok((received.value('oxia_server_snapshots_total', { ...SHARD, direction: 'received', outcome: 'completed' }) ?? 0) >= 1, 'n2 installed it');
  assert.ok((received.value('oxia_server_snapshot_bytes_total', { ...SHARD, direction: 'received' }) ?? 0) > 40 * 300, 'n2 counted its bytes');
  await scrapeUntil(n0, 'n2 to lag no entry again', (m) => {
    assert.is(m.value('oxia_server_follower_lag_entries', { ...SHARD, follower: n2.name }), 0);
  });
});

test("a deleted shard's series disappear", async () => {
  const [n0] = nodes as [ClusterNode];
  const { term } = await n0.coordination.getStatus(0n);
  // As the coordinator deletes a namespace: the leader first, so that it stops replicating.
  for (const n of nodes) await n.coordination.deleteShard(0n, term);
  for (const n of nodes) {
    const m = await scrapeUntil(n, `shard 0 gone from ${n.name}'s metrics`, (s) => {
      assert.equal(s.all('oxia_server_shard_role', SHARD), []);
    });
    const left = m.samples.filter((s) => s.labels.shard === '0' && s.labels.oxia_namespace === NAMESPACE).map((s) => s.name);
    assert.equal([...new Set(left)], [], `no series of shard 0 remain on ${n.name}`);
  }
});

test.run();
