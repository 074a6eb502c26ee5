// A real `oxia-ts standalone` is ready as soon as it serves (its shards are open: it needs
// no coordinator), and its /metrics shows every shard as leader with the writes and reads
// routed to it, its WAL and its store, under the names, labels and units of Oxia's (ADR 0026).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Status } from '../../src/domain/wire/client.js';
import { HealthClient, ServingStatus as Health } from '../support/health-client.js';
import { scrapeMetrics } from '../support/metrics-scrape.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { startStandalone } from '../support/standalone.js';

test('standalone: ready once serving; per-shard series count the writes and reads routed to each shard', async () => {
  const server = await startStandalone({ shards: 2 });
  const client = new RawOxiaClient(server.address);
  const health = new HealthClient(server.address);
  try {
    assert.is(await health.check('oxia-readiness'), Health.SERVING, 'a standalone node is ready once its shards are open');
    assert.is(await health.check(''), Health.SERVING);

    const shards = await client.shards();
    assert.is(shards.length, 2);
    const writes = new Map<string, number>();
    const gets = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const key = `/k/${i}`;
      const shard = RawOxiaClient.shardFor(shards, key);
      assert.is((await client.put(shard, { key, value: Buffer.from(`v${i}`) })).puts[0]?.status, Status.OK);
      writes.set(shard.toString(), (writes.get(shard.toString()) ?? 0) + 1);
      if (i % 3 === 0) {
        assert.is((await client.get(shard, key)).status, Status.OK);
        gets.set(shard.toString(), (gets.get(shard.toString()) ?? 0) + 1);
      }
    }
    assert.is(writes.size, 2, 'both shards took writes');

    const m = await scrapeMetrics(server.metricsAddress);
    for (const { shard } of shards) {
      const labels = { oxia_namespace: 'default', shard: shard.toString() };
      const written = writes.get(shard.toString()) ?? 0;
      assert.equal(m.all('oxia_server_shard_role', labels).map((s) => [s.labels.role, s.value]), [['leader', 1]], `shard ${shard} is led here`);
      assert.is(m.value('oxia_server_write_requests_total', labels), written, `shard ${shard}: write requests`);
      assert.is(m.value('oxia_server_db_puts_total', labels), written, `shard ${shard}: puts`);
      assert.is(m.value('oxia_server_db_gets_total', labels), gets.get(shard.toString()) ?? 0, `shard ${shard}: gets`);
      assert.is(m.value('oxia_server_db_deletes_total', labels), 0, `shard ${shard}: deletes, present at 0`);
      assert.is(m.value('oxia_server_leader_write_latency_milliseconds_count', labels), written, `shard ${shard}: one write latency per request`);
      assert.ok((m.value('oxia_server_leader_write_latency_milliseconds_sum', labels) ?? 0) > 0, `shard ${shard}: write latency in ms`);
      assert.is(m.value('oxia_server_commit_offset', labels), written - 1, `shard ${shard}: one entry per write, offsets from 0`);
      assert.is(m.value('oxia_server_wal_appended_entries_total', labels), written, `shard ${shard}: WAL entries`);
      assert.is(m.value('oxia_server_wal_entries', labels), written, `shard ${shard}: the log holds every entry (none trimmed yet)`);
      const rounds = m.value('oxia_server_wal_sync_latency_milliseconds_count', labels) ?? 0;
      assert.ok(rounds >= 1 && rounds <= written, `shard ${shard}: ${rounds} fsync rounds`);
      assert.is(m.value('oxia_server_wal_append_latency_milliseconds_count', labels), rounds, `shard ${shard}: one append per round`);
      assert.ok((m.value('oxia_server_kv_batch_commit_latency_milliseconds_count', labels) ?? 0) >= 1, `shard ${shard}: store commits`);
      assert.ok((m.value('oxia_server_kv_write_ops_total', labels) ?? 0) >= written, `shard ${shard}: at least one record op per put`);
      assert.ok((m.value('oxia_server_kv_write_bytes_total', labels) ?? 0) > 0, `shard ${shard}: bytes written to the store`);
      assert.ok((m.value('oxia_server_kv_size_bytes', labels) ?? 0) > 0, `shard ${shard}: store size`);
      assert.is(m.value('oxia_server_sessions_active', labels), 0, `shard ${shard}: no sessions`);
      assert.is(m.value('oxia_server_kv_read_errors_total', labels), 0, `shard ${shard}: no failed store reads, present at 0`);
    }
    assert.equal(m.all('oxia_server_follower_lag_entries'), [], 'a standalone shard has no followers');
    for (const dir of ['data', 'wal']) {
      const size = m.value('oxia_server_disk_size_bytes', { dir }) ?? 0;
      const free = m.value('oxia_server_disk_free_bytes', { dir }) ?? -1;
      assert.ok(size > 0 && free >= 0 && free <= size, `${dir} directory's file system: ${free} of ${size} bytes free`);
    }
    // gRPC calls under go-grpc-prometheus's names and labels, as Oxia's gRPC dashboard queries them.
    const put = { grpc_type: 'unary', grpc_service: 'io.oxia.proto.v1.OxiaClient', grpc_method: 'Write' };
    const read = { grpc_type: 'server_stream', grpc_service: 'io.oxia.proto.v1.OxiaClient', grpc_method: 'Read' };
    for (const name of ['grpc_server_started_total', 'grpc_server_msg_received_total', 'grpc_server_msg_sent_total', 'grpc_server_handling_seconds_count']) {
      assert.is(m.value(name, put), 30, `${name}: one per put`);
      assert.is(m.value(name, read), 10, `${name}: one per get (one request, one response each)`);
    }
    assert.is(m.value('grpc_server_handled_total', { ...put, grpc_code: 'OK' }), 30, 'every put handled OK');
    assert.is(m.value('grpc_server_handled_total', { ...read, grpc_code: 'OK' }), 10, 'every get handled OK');
    for (const gone of ['oxia_grpc_server_handled_total', 'oxia_grpc_server_unary_handling_seconds', 'oxia_server_write_ops_total', 'oxia_server_read_ops_total', 'oxia_server_write_latency_seconds', 'oxia_server_wal_sync_latency_seconds']) {
      assert.not.ok(m.families().has(gone), `${gone} was renamed (ADR 0026)`);
    }
  } finally {
    client.close();
    health.close();
    await server.stop();
  }
});

test.run();
