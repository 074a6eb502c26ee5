// The recipes rely on this guarantee of getNotifications: an operation issued after the
// call starts only once the subscription is positioned on the operation's shard (the
// server's first, empty batch), so every later change is delivered. The wait is per
// shard and has no time-based fallback: a shard whose stream cannot be positioned
// delays only operations on that shard.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RequestTimeoutError, type Notification } from '../../../src/adapters/client/index.js';
import { FakeCluster } from '../support/fake-transport.js';
import { clientOn, rejects } from '../support/fake-client.js';

/** A key of each shard, found by the fake's own routing. */
function keyOn(cluster: FakeCluster, shard: bigint, prefix: string): string {
  for (let i = 0; ; i++) if (cluster.shardOf(`${prefix}/${i}`).id === shard) return `${prefix}/${i}`;
}

async function nextNotification(it: AsyncIterator<Notification>, timeoutMs = 5000): Promise<Notification> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await Promise.race([
      it.next(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no notification')), timeoutMs))),
    ]);
    if (r.done === true) throw new Error('the subscription ended');
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

test('a shard whose stream cannot be positioned holds back only operations on that shard, until it is positioned', async () => {
  // Shard 0 is led by server-a, shard 1 by server-b; server-b is unreachable.
  const cluster = new FakeCluster(2, ['server-a:1', 'server-b:1']);
  const client = await clientOn(cluster, { requestTimeoutMs: 600 });
  const onA = keyOn(cluster, 0n, '/pos/a');
  const onB = keyOn(cluster, 1n, '/pos/b');
  cluster.down.add('server-b:1');
  const sub = client.getNotifications();
  try {
    const it = sub[Symbol.asyncIterator]();
    // Shard 0 is positioned: its operations go ahead and are delivered.
    await client.put(onA, 'v');
    assert.is((await nextNotification(it)).key, onA);
    // Shard 1 is not: an operation on it waits, for no less than its whole request timeout
    // (no fallback would let it through unobserved), then fails with a timeout.
    const started = performance.now();
    const e = await rejects(() => client.get(onB), (x) => x instanceof RequestTimeoutError, 'get on the unpositioned shard');
    assert.ok(performance.now() - started >= 550, 'waited for the request timeout');
    assert.match((e as Error).message, /not yet positioned/);
    assert.is(cluster.shards.get(1n)?.records.size, 0);
    // Once the server is back, the stream is positioned and a write there is delivered.
    cluster.down.delete('server-b:1');
    await client.put(onB, 'v');
    assert.is((await nextNotification(it)).key, onB);
  } finally {
    sub.close();
    await client.close();
  }
});

test('closing a subscription that is not positioned releases the operations waiting for it', async () => {
  const cluster = new FakeCluster(1);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  cluster.beforeNotifications = () => held;
  const client = await clientOn(cluster, { requestTimeoutMs: 10_000 });
  const sub = client.getNotifications();
  try {
    let done = false;
    const put = client.put('/pos/c', 'v').then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.is(done, false, 'the put waits for the positioning');
    assert.is(cluster.writes.length, 0);
    sub.close();
    await put;
    assert.is(cluster.writes.length, 1);
  } finally {
    release();
    sub.close();
    await client.close();
  }
});

test.run();
