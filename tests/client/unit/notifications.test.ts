// Notifications over all shards: positioned before the client's next writes, resumed
// from the last offset after a broken stream, ended by close().
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NotificationType, type CloseableAsyncIterable, type Notification } from '../../../src/adapters/client/index.js';
import { FakeCluster } from '../support/fake-transport.js';
import { clientOn, waitFor } from '../support/fake-client.js';

async function take(it: AsyncIterator<Notification>, n: number, timeoutMs = 3000): Promise<Notification[]> {
  const out: Notification[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const next = await Promise.race([
      it.next(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`only ${out.length} of ${n} notifications`)), deadline - Date.now())),
    ]);
    if (next.done === true) throw new Error('the subscription ended');
    out.push(next.value);
  }
  return out;
}

test('a write issued right after subscribing is seen, even when the streams position slowly', async () => {
  const cluster = new FakeCluster(3);
  cluster.beforeNotifications = () => new Promise((r) => setTimeout(r, 100));
  const client = await clientOn(cluster);
  const sub = client.getNotifications();
  try {
    const it = sub[Symbol.asyncIterator]();
    const put = await client.put('/n/a', 'v'); // not awaited-for positioning by the caller
    const [n] = await take(it, 1);
    assert.equal(n, { key: '/n/a', type: NotificationType.KEY_CREATED, versionId: put.version.versionId });
    await client.put('/n/a', 'w');
    await client.delete('/n/a');
    const rest = await take(it, 2);
    assert.equal(rest.map((x) => [x.type, x.versionId]), [
      [NotificationType.KEY_MODIFIED, put.version.versionId + 1],
      [NotificationType.KEY_DELETED, 0],
    ]);
  } finally {
    sub.close();
    await client.close();
  }
});

test('after a broken stream the subscription resumes from its last offset: nothing lost, nothing repeated', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster);
  const sub = client.getNotifications();
  try {
    const it = sub[Symbol.asyncIterator]();
    await client.put('/r/1', 'v');
    assert.equal((await take(it, 1)).map((n) => n.key), ['/r/1']);
    cluster.down.add('server-a:1');
    cluster.breakNotificationStreams();
    const second = client.put('/r/2', 'v'); // retried until the server is back
    await waitFor(() => cluster.notificationRequests.length >= 2, 3000, 'a reconnect attempt');
    cluster.down.delete('server-a:1');
    await second;
    await client.put('/r/3', 'v');
    const keys = (await take(it, 2)).map((n) => n.key);
    assert.equal(keys, ['/r/2', '/r/3']);
    const resumed = cluster.notificationRequests.at(-1);
    assert.is(resumed?.startOffsetExclusive, 0n, 'reopened after the offset of the batch with /r/1');
  } finally {
    sub.close();
    await client.close();
  }
});

test('close() and break end the iteration; several subscribers each get every change', async () => {
  const cluster = new FakeCluster(2);
  const client = await clientOn(cluster);
  const a = client.getNotifications();
  const b = client.getNotifications();
  try {
    await client.put('/m/x', 'v');
    assert.equal((await take(a[Symbol.asyncIterator](), 1))[0]?.key, '/m/x');
    assert.equal((await take(b[Symbol.asyncIterator](), 1))[0]?.key, '/m/x');
    const loop = (async () => {
      for await (const _ of a as CloseableAsyncIterable<Notification>) {
        // runs until closed
      }
    })();
    a.close();
    await loop;
    let seen = 0;
    await client.put('/m/y', 'v');
    for await (const _ of b) {
      seen++;
      break;
    }
    assert.is(seen, 1);
  } finally {
    a.close();
    b.close();
    await client.close();
  }
});

test.run();
