// Bounded in-flight work: beyond maxPendingRequests / maxPendingBytes calls wait.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RequestTimeoutError } from '../../../src/adapters/client/index.js';
import { Admission } from '../../../src/adapters/client/internal/admission.js';
import { FakeCluster } from '../support/fake-transport.js';
import { clientOn, gate, rejects, waitFor } from '../support/fake-client.js';

const putsSent = (c: FakeCluster) => c.writes.reduce((n, w) => n + w.request.puts.length, 0);

test('no more than maxPendingRequests operations are queued or in flight', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { maxPendingRequests: 5, batchLingerMs: 0 });
  const server = gate();
  try {
    cluster.onWrite = async () => {
      await server.promise;
      return undefined;
    };
    let done = 0;
    const puts = Array.from({ length: 20 }, (_, i) =>
      client.put(`/k${i}`, 'v').then(() => {
        done++;
      }),
    );
    await waitFor(() => putsSent(cluster) === 5, 2000, 'the first five to be sent');
    await new Promise((r) => setTimeout(r, 50));
    assert.is(putsSent(cluster), 5, 'the other fifteen wait in the caller');
    assert.is(done, 0);
    server.open();
    await Promise.all(puts);
    assert.is(putsSent(cluster), 20);
  } finally {
    server.open();
    await client.close();
  }
});

test('the byte bound admits big values one at a time', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { maxPendingBytes: 1000, batchLingerMs: 0 });
  const server = gate();
  try {
    cluster.onWrite = async () => {
      await server.promise;
      return undefined;
    };
    const puts = Array.from({ length: 4 }, (_, i) => client.put(`/b${i}`, 'x'.repeat(600)));
    await waitFor(() => putsSent(cluster) === 1, 2000);
    await new Promise((r) => setTimeout(r, 50));
    assert.is(putsSent(cluster), 1);
    server.open();
    await Promise.all(puts);
  } finally {
    server.open();
    await client.close();
  }
});

test('a call that cannot get a slot within the request timeout fails with RequestTimeoutError', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { maxPendingRequests: 1, requestTimeoutMs: 300 });
  const server = gate();
  try {
    cluster.onWrite = async () => {
      await server.promise;
      return undefined;
    };
    const first = client.put('/a', 'v').catch((e: unknown) => e);
    await waitFor(() => putsSent(cluster) === 1, 2000);
    // The held put started first, so its own timeout frees the slot no later than the
    // waiter's runs out: the waiter fails either still waiting or with no time left.
    await rejects(
      () => client.put('/b', 'v'),
      (e) => e instanceof RequestTimeoutError && /too many operations pending|did not complete within 300 ms/.test((e as Error).message),
    );
    assert.ok((await first) instanceof RequestTimeoutError, 'the held one times out as well');
  } finally {
    server.open();
    await client.close();
  }
});

test('Admission grants waiters in arrival order', async () => {
  const a = new Admission(1, 100);
  const order: number[] = [];
  assert.ok(a.tryAcquire(10));
  const signal = new AbortController().signal;
  const waits = [1, 2, 3].map((n) => a.acquire(10, signal).then(() => order.push(n)));
  assert.not.ok(a.tryAcquire(1), 'nobody jumps the queue');
  a.release(10);
  await waits[0];
  a.release(10);
  await waits[1];
  a.release(10);
  await waits[2];
  assert.equal(order, [1, 2, 3]);
});

test.run();
