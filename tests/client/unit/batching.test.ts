// Per-shard batching: flush on count, bytes and linger; write order kept; gets batched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeCluster } from '../support/fake-transport.js';
import { clientOn, gate, waitFor } from '../support/fake-client.js';

const putsPerBatch = (c: FakeCluster) => c.writes.map((w) => w.request.puts.length);

test('a batch is sent when it reaches maxRequestsPerBatch', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { maxRequestsPerBatch: 10, batchLingerMs: 60_000 });
  try {
    const puts = Array.from({ length: 25 }, (_, i) => client.put(`/k${i}`, 'v'));
    await waitFor(() => cluster.writes.length >= 2, 5000, 'two full batches');
    assert.equal(putsPerBatch(cluster), [10, 10], 'the 5 left wait for more (linger is a minute)');
    const closing = client.close(); // flushes the rest
    await Promise.all(puts);
    await closing;
    assert.equal(putsPerBatch(cluster), [10, 10, 5]);
  } finally {
    await client.close();
  }
});

test('a batch is sent before it would exceed maxBatchSizeBytes', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { maxBatchSizeBytes: 100, batchLingerMs: 20 });
  try {
    const value = 'x'.repeat(30); // 2-byte key + 30 bytes: three fit in 100 bytes, four do not
    await Promise.all(Array.from({ length: 7 }, (_, i) => client.put(`k${i}`, value)));
    assert.equal(putsPerBatch(cluster), [3, 3, 1]);
    // An operation larger than the limit still goes, alone.
    await client.put('big', 'y'.repeat(500));
    assert.equal(putsPerBatch(cluster).at(-1), 1);
  } finally {
    await client.close();
  }
});

test('a batch waits batchLingerMs for company, and no longer', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { batchLingerMs: 80 });
  try {
    const started = performance.now();
    const first = client.put('/a', 'v');
    await new Promise((r) => setTimeout(r, 20));
    const second = client.put('/b', 'v');
    await Promise.all([first, second]);
    const elapsedMs = performance.now() - started;
    assert.equal(putsPerBatch(cluster), [2], 'the put issued during the linger joined the batch');
    assert.ok(elapsedMs >= 75, `sent after the linger (${elapsedMs.toFixed(0)} ms)`);
  } finally {
    await client.close();
  }
});

test('while a batch is out, the next one fills: one batch in flight per shard', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { batchLingerMs: 1 });
  const server = gate();
  try {
    cluster.onWrite = async () => {
      await server.promise;
      return undefined;
    };
    const first = client.put('/a', 'v');
    await waitFor(() => cluster.writes.length === 1, 2000, 'the first batch');
    const rest = Array.from({ length: 5 }, (_, i) => client.put(`/b${i}`, 'v'));
    // Long past the 1 ms linger, the five still wait for the first batch's answer.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(putsPerBatch(cluster), [1]);
    server.open();
    await Promise.all([first, ...rest]);
    assert.equal(putsPerBatch(cluster), [1, 5], 'the five went together');
  } finally {
    server.open();
    await client.close();
  }
});

test('with batchLingerMs 0 each operation is sent at once', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { batchLingerMs: 0 });
  try {
    await Promise.all([client.put('/a', 'v'), client.put('/b', 'v'), client.put('/c', 'v')]);
    assert.equal(putsPerBatch(cluster), [1, 1, 1]);
  } finally {
    await client.close();
  }
});

test('the default linger (5 ms) batches a burst into one request per shard', async () => {
  const cluster = new FakeCluster(3);
  const client = await clientOn(cluster);
  try {
    await Promise.all(Array.from({ length: 60 }, (_, i) => client.put(`/burst/${i}`, 'v')));
    assert.is(cluster.writes.length, 3);
    assert.is(putsPerBatch(cluster).reduce((a, b) => a + b, 0), 60);
    assert.is(cluster.writeStreamsOpened.length, 3, 'one WriteStream per shard');
    assert.ok(cluster.writeStreamsOpened.every((s) => s.namespace === 'default'));
    await Promise.all(Array.from({ length: 60 }, (_, i) => client.put(`/burst/${i}`, 'w')));
    assert.is(cluster.writeStreamsOpened.length, 3, 'the streams are reused');
  } finally {
    await client.close();
  }
});

test('writes keep their order when a batch would reorder them (put after delete or delete range)', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { batchLingerMs: 20 });
  try {
    await client.put('/o/k', 'old');
    cluster.writes.length = 0;
    // Issued together: the server applies puts before deletes within one request.
    await Promise.all([client.delete('/o/k'), client.put('/o/k', 'new'), client.deleteRange('/o/', '/o/~'), client.put('/o/j', 'kept')]);
    assert.equal(
      cluster.writes.map((w) => [w.request.puts.length, w.request.deletes.length, w.request.deleteRanges.length]),
      [
        [0, 1, 0],
        [1, 0, 1],
        [1, 0, 0],
      ],
    );
    assert.equal(await client.list('/o/', '/o/~'), ['/o/j']);
  } finally {
    await client.close();
  }
});

test('gets to one shard are batched into one Read', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { batchLingerMs: 10 });
  try {
    for (let i = 0; i < 5; i++) await client.put(`/g${i}`, `v${i}`);
    const got = await Promise.all(Array.from({ length: 5 }, (_, i) => client.get(`/g${i}`)));
    assert.equal(got.map((g) => new TextDecoder().decode(g.value)), ['v0', 'v1', 'v2', 'v3', 'v4']);
    assert.is(cluster.reads.length, 1);
    assert.is(cluster.reads[0]?.request.gets.length, 5);
  } finally {
    await client.close();
  }
});

test.run();
