// Per-shard batching: an idle shard sends at once; while batches are out the next one fills
// (count and byte bounds, linger as the upper bound of its wait); write order kept; gets batched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeCluster } from '../support/fake-transport.js';
import { clientOn, gate, waitFor } from '../support/fake-client.js';

const putsPerBatch = (c: FakeCluster) => c.writes.map((w) => w.request.puts.length);

test('while a batch is out, operations form batches of at most maxRequestsPerBatch', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { maxRequestsPerBatch: 10, batchLingerMs: 60_000 });
  try {
    await Promise.all(Array.from({ length: 25 }, (_, i) => client.put(`/k${i}`, 'v')));
    // The first goes at once (idle shard), full batches follow it one at a time, and the
    // rest goes as soon as the shard is idle again: nobody waits out the minute of linger.
    assert.equal(putsPerBatch(cluster), [1, 10, 10, 4]);
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
    assert.equal(putsPerBatch(cluster), [1, 3, 3], 'the first alone (idle shard), then what fits');
    // An operation larger than the limit still goes, alone.
    await client.put('big', 'y'.repeat(500));
    assert.equal(putsPerBatch(cluster).at(-1), 1);
  } finally {
    await client.close();
  }
});

test('an idle shard sends at once: one caller never waits for the linger', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { batchLingerMs: 600_000, requestTimeoutMs: 900_000 });
  try {
    let done = 0;
    const one = async () => {
      await client.put('/a', 'v');
      await client.get('/a');
      done++;
    };
    // Ten minutes of linger: only sending at once lets these finish within the wait.
    const all = Promise.all(Array.from({ length: 4 }, () => one()));
    await waitFor(() => done === 4, 5000, 'four callers, each a put then a get');
    await all;
  } finally {
    await client.close();
  }
});

/** Writes /r, then sends a get of it whose Read the server holds until `server` opens; resolves once that Read is out, with the get's result still pending. */
async function holdFirstRead(cluster: FakeCluster, client: Awaited<ReturnType<typeof clientOn>>, server: ReturnType<typeof gate>) {
  await client.put('/r', 'v');
  cluster.onRead = async () => {
    await server.promise;
    return undefined;
  };
  const first = client.get('/r');
  await waitFor(() => cluster.reads.length === 1, 2000, 'the first Read');
  return { first };
}

test('with a Read out, the next gets wait for company up to the linger, then take the second slot', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { batchLingerMs: 30 });
  const server = gate();
  try {
    const { first } = await holdFirstRead(cluster, client, server);
    const next = [client.get('/r'), client.get('/r'), client.get('/r')];
    // The first Read is still held: only the linger's bound can have sent the second.
    await waitFor(() => cluster.reads.length === 2, 2000, 'the second Read, sent once the linger ran out');
    assert.equal(cluster.reads.map((r) => r.request.gets.length), [1, 3], 'the three went together');
    server.open();
    await Promise.all([first, ...next]);
  } finally {
    server.open();
    await client.close();
  }
});

test('with a Read out and a long linger, the next gets go as soon as the shard is idle', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { batchLingerMs: 600_000, requestTimeoutMs: 900_000 });
  const server = gate();
  try {
    const { first } = await holdFirstRead(cluster, client, server);
    const next = [client.get('/r'), client.get('/r')];
    await Promise.resolve();
    assert.is(cluster.reads.length, 1, 'the second slot is free, but the batch waits for company');
    server.open();
    await Promise.all([first, ...next]);
    assert.equal(cluster.reads.map((r) => r.request.gets.length), [1, 2]);
  } finally {
    server.open();
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

test('with the defaults a burst takes two requests per shard: the first operation, then the rest', async () => {
  const cluster = new FakeCluster(3);
  const client = await clientOn(cluster);
  try {
    await Promise.all(Array.from({ length: 60 }, (_, i) => client.put(`/burst/${i}`, 'v')));
    assert.is(cluster.writes.length, 6);
    assert.ok(cluster.writes.every((w, i) => w.request.puts.length === 1 || i >= 3), 'each shard sent its first put alone');
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
    assert.equal(cluster.reads.map((r) => r.request.gets.length), [1, 4], 'the first at once, the others together');
  } finally {
    await client.close();
  }
});

test.run();
