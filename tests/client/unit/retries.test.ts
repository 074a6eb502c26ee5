// Retries: leader hints are followed, retryable failures retried within the request
// timeout, non-retryable ones surface at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OxiaError, RequestTimeoutError } from '../../../src/adapters/client/index.js';
import { RpcError } from '../../../src/adapters/client/internal/rpc-error.js';
import { FakeCluster } from '../support/fake-transport.js';
import { clientOn, rejects, waitFor } from '../support/fake-client.js';

test('a not-leader error is followed to the hinted leader, which later calls use directly', async () => {
  const cluster = new FakeCluster(1, ['server-a:1']);
  const client = await clientOn(cluster);
  try {
    // Leadership moves without an assignment update reaching the client yet.
    (cluster.shards.get(0n) as { leader: string }).leader = 'server-b:1';
    await client.put('/x', 'v');
    assert.equal(cluster.writes.map((w) => w.target), ['server-a:1', 'server-b:1']);
    await client.put('/y', 'v');
    await client.get('/y');
    assert.equal(cluster.writes.map((w) => w.target), ['server-a:1', 'server-b:1', 'server-b:1']);
    assert.equal(cluster.reads.map((r) => r.target), ['server-b:1']);
  } finally {
    await client.close();
  }
});

test('an assignment update moves writes to the new leader on a new stream', async () => {
  const cluster = new FakeCluster(1, ['server-a:1']);
  const client = await clientOn(cluster);
  try {
    await client.put('/x', 'v');
    cluster.moveLeader(0n, 'server-c:1');
    const directory = (client as unknown as { rt: { directory: { leaderOf(s: bigint): string } } }).rt.directory;
    await waitFor(() => directory.leaderOf(0n) === 'server-c:1', 2000, 'the update to reach the client');
    await client.put('/x', 'w');
    assert.equal(cluster.writes.map((w) => w.target), ['server-a:1', 'server-c:1'], 'no attempt at the old leader');
    assert.equal(cluster.writeStreamsOpened.map((s) => s.target), ['server-a:1', 'server-c:1']);
  } finally {
    await client.close();
  }
});

test('writes and reads waiting on a leader that never answers go to the new leader as soon as the assignments name it', async () => {
  for (const unary of [false, true]) {
    const cluster = new FakeCluster(1, ['server-a:1']);
    // With an authentication provider writes are unary calls instead of the stream.
    const client = await clientOn(cluster, unary ? { authentication: { generateCredentials: () => ({}) } } : {});
    try {
      // server-a froze: its calls never complete (until the request deadline, a minute away).
      cluster.onWrite = (call) => (call.target === 'server-a:1' ? new Promise<undefined>(() => undefined) : undefined);
      cluster.onRead = (call) => (call.target === 'server-a:1' ? new Promise<undefined>(() => undefined) : undefined);
      const put = client.put('/x', 'v');
      const get = client.get('/y').catch((e: unknown) => e);
      await waitFor(() => cluster.writes.length === 1 && cluster.reads.length === 1, 2000, 'the calls to reach the frozen leader');
      cluster.moveLeader(0n, 'server-b:1');
      const started = performance.now();
      assert.is((await put).key, '/x');
      assert.ok((await get) instanceof OxiaError, 'the get of a missing key completes (not found)');
      assert.ok(performance.now() - started < 1000, `completed ${(performance.now() - started).toFixed(0)} ms after the move`);
      assert.equal(cluster.writes.map((w) => w.target), ['server-a:1', 'server-b:1'], unary ? 'unary' : 'stream');
      assert.equal(cluster.reads.map((r) => r.target), ['server-a:1', 'server-b:1']);
    } finally {
      await client.close();
    }
  }
});

test('an unavailable server is retried until it comes back', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster);
  try {
    cluster.down.add('server-a:1');
    const put = client.put('/x', 'v');
    await waitFor(() => cluster.writeStreamsOpened.length >= 2, 5000, 'a few failed attempts');
    cluster.down.delete('server-a:1');
    const r = await put;
    assert.is(r.key, '/x');
  } finally {
    await client.close();
  }
});

test('retryable errors from the server (not initialized, resource unavailable) are retried', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster);
  try {
    const failures = [new RpcError('NotInitialized', 'not yet'), new RpcError('ResourceUnavailable', 'busy')];
    cluster.onWrite = () => failures.shift();
    cluster.onRead = () => (cluster.reads.length === 1 ? new RpcError('NodeIsNotMember', 'not a member') : undefined);
    await client.put('/x', 'v');
    assert.is(cluster.writes.length, 3);
    await client.get('/x');
    assert.is(cluster.reads.length, 2);
  } finally {
    await client.close();
  }
});

test('a broken WriteStream fails its pending batches over to a new stream', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster);
  try {
    let held = true;
    cluster.onWrite = async () => {
      while (held) await new Promise((r) => setTimeout(r, 5));
      return undefined;
    };
    const put = client.put('/x', 'v');
    await waitFor(() => cluster.writes.length === 1, 2000, 'the write to arrive');
    cluster.breakWriteStreams(0n);
    held = false;
    await put;
    assert.is(cluster.writeStreamsOpened.length, 2);
  } finally {
    await client.close();
  }
});

test('a non-retryable error surfaces at once with the cause in the message', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster);
  try {
    cluster.onWrite = () => new RpcError('LimitExceeded', 'value of 9000000 bytes is over the 8388608-byte limit');
    const started = performance.now();
    const e = (await rejects(() => client.put('/x', 'v'), (err) => err instanceof OxiaError)) as OxiaError;
    assert.ok(performance.now() - started < 1000);
    assert.is(e.kind, 'LimitExceeded');
    assert.match(e.message, /put '\/x'/);
    assert.match(e.message, /8388608-byte limit/);
    assert.is(cluster.writes.length, 1, 'not retried');
  } finally {
    await client.close();
  }
});

test('retries stop at the request timeout with the last error in the message', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { requestTimeoutMs: 300 });
  try {
    cluster.down.add('server-a:1');
    const started = performance.now();
    const e = (await rejects(() => client.put('/x', 'v'), (err) => err instanceof RequestTimeoutError)) as Error;
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs >= 290 && elapsedMs < 2000, `gave up after ${elapsedMs.toFixed(0)} ms`);
    assert.match(e.message, /300 ms/);
    assert.match(e.message, /server-a:1 is down/);
  } finally {
    cluster.down.clear();
    await client.close();
  }
});

test('a server that never answers is cut off at the request timeout', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { requestTimeoutMs: 200 });
  try {
    cluster.onRead = () => new Promise(() => {});
    cluster.onList = () => new Promise(() => {});
    await rejects(() => client.get('/x'), (err) => err instanceof RequestTimeoutError, 'get');
    await rejects(() => client.list('/a', '/b'), (err) => err instanceof RequestTimeoutError, 'list');
  } finally {
    await client.close();
  }
});

test('a list interrupted after some keys resumes after the last key it got', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster);
  try {
    for (let i = 0; i < 9; i++) await client.put(`/l/${i}`, 'v');
    // The first List call breaks after its first message; the retry must not repeat keys.
    const realList = cluster.list.bind(cluster);
    let calls = 0;
    cluster.list = async function* (target, request, signal) {
      calls++;
      let n = 0;
      for await (const m of realList(target, request, signal)) {
        if (calls === 1 && n++ === 1) throw new RpcError('Unavailable', 'connection reset');
        yield m;
      }
    };
    assert.equal(await client.list('/l/', '/l/~'), Array.from({ length: 9 }, (_, i) => `/l/${i}`));
    assert.is(calls, 2);
    assert.is(cluster.lists.at(-1)?.request.startInclusive, '/l/1');
  } finally {
    await client.close();
  }
});

test('connect fails at once for an unknown namespace, and after initTimeoutMs for a dead server', async () => {
  const cluster = new FakeCluster(1);
  const e1 = (await rejects(() => clientOn(cluster, { namespace: 'nope' }), (e) => e instanceof OxiaError)) as OxiaError;
  assert.is(e1.kind, 'NamespaceNotFound');
  cluster.down.add('server-a:1');
  const started = performance.now();
  const e2 = (await rejects(() => clientOn(cluster, { initTimeoutMs: 200 }), (e) => e instanceof OxiaError)) as OxiaError;
  assert.ok(performance.now() - started < 2000);
  assert.match(e2.message, /server-a:1 is down/);
});

test.run();
