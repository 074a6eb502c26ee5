// Sessions: created lazily per shard, kept alive, closed on close(); a lost session
// is reported, never silent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionNotFoundError, type SessionLostEvent } from '../../../src/adapters/client/index.js';
import { heartbeatIntervalFor } from '../../../src/adapters/client/options.js';
import { RpcError } from '../../../src/adapters/client/internal/rpc-error.js';
import { FakeCluster } from '../support/fake-transport.js';
import { clientOn, rejects, waitFor } from '../support/fake-client.js';

test('heartbeat interval: a tenth of the timeout; bad combinations are RangeErrors', () => {
  assert.is(heartbeatIntervalFor(15_000, undefined), 1500);
  assert.is(heartbeatIntervalFor(30_000, undefined), 3000);
  assert.is(heartbeatIntervalFor(1000, 100), 100);
  assert.throws(() => heartbeatIntervalFor(1999, undefined), RangeError);
  assert.throws(() => heartbeatIntervalFor(5000, 5000), RangeError);
  assert.throws(() => heartbeatIntervalFor(5000, 0), RangeError);
});

test('sessions are created on the first ephemeral put, one per shard, and closed by close()', async () => {
  const cluster = new FakeCluster(3);
  const client = await clientOn(cluster, { clientIdentifier: 'me', sessionTimeoutMs: 2000, heartbeatIntervalMs: 20 });
  await client.put('/plain', 'v');
  assert.is(cluster.sessions.size, 0, 'none before an ephemeral put');
  const keys = Array.from({ length: 12 }, (_, i) => `/e/${i}`);
  const results = await Promise.all(keys.map((k) => client.put(k, 'v', { ephemeral: true })));
  const shards = new Set(keys.map((k) => cluster.shardOf(k).id));
  assert.is(cluster.sessions.size, shards.size, 'one session per shard touched');
  for (const r of results) {
    assert.ok(r.version.isEphemeral());
    assert.is(r.version.clientIdentity, 'me');
  }
  const again = await client.put(keys[0] as string, 'w', { ephemeral: true });
  assert.is(again.version.sessionId, results[0]?.version.sessionId, 'the session is reused');
  for (const s of cluster.sessions.values()) assert.is(s.timeoutMs, 2000);
  await waitFor(() => [...cluster.sessions.values()].every((s) => s.heartbeats >= 3), 3000, 'heartbeats');
  await client.close();
  assert.is(cluster.sessions.size, 0, 'close() closed the sessions');
  for (const k of keys) assert.not.ok(cluster.shardOf(k).records.has(k), `${k} removed with its session`);
  assert.ok(cluster.shardOf('/plain').records.has('/plain'));
});

test('an expired session is reported to listeners and to the next ephemeral put, then replaced', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { sessionTimeoutMs: 2000, heartbeatIntervalMs: 20 });
  try {
    const events: SessionLostEvent[] = [];
    client.onSessionLost((e) => events.push(e));
    const first = await client.put('/lock', 'me', { ephemeral: true });
    cluster.expireSession(BigInt(first.version.sessionId as number));
    await waitFor(() => events.length === 1, 3000, 'the loss to be noticed');
    assert.is(events[0]?.sessionId, first.version.sessionId);
    assert.is(events[0]?.shard, 0);
    await rejects(() => client.put('/lock', 'me', { ephemeral: true }), (e) => e instanceof SessionNotFoundError && /was lost/.test((e as Error).message));
    const again = await client.put('/lock', 'me', { ephemeral: true });
    assert.is.not(again.version.sessionId, first.version.sessionId);
  } finally {
    await client.close();
  }
});

test('a session whose heartbeats go unanswered for the session timeout is lost', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { sessionTimeoutMs: 300, heartbeatIntervalMs: 30 });
  try {
    const events: SessionLostEvent[] = [];
    client.onSessionLost((e) => events.push(e));
    await client.put('/lock', 'me', { ephemeral: true });
    cluster.onKeepAlive = () => new RpcError('Unavailable', 'partitioned');
    await waitFor(() => events.length === 1, 3000, 'the loss to be noticed');
    assert.match(events[0]?.reason ?? '', /no heartbeat was acknowledged/);
  } finally {
    await client.close();
  }
});

test('a put rejected with SESSION_DOES_NOT_EXIST reports the loss once and the next put gets a new session', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { sessionTimeoutMs: 60_000 });
  try {
    const first = await client.put('/a', 'v', { ephemeral: true });
    cluster.sessions.delete(BigInt(first.version.sessionId as number)); // gone without the client noticing yet
    await rejects(() => client.put('/b', 'v', { ephemeral: true }), (e) => e instanceof SessionNotFoundError);
    const next = await client.put('/b', 'v', { ephemeral: true });
    assert.is.not(next.version.sessionId, first.version.sessionId);
  } finally {
    await client.close();
  }
});

test('sessionTimeoutMs below 2 s without a heartbeat interval fails the first ephemeral put with RangeError', async () => {
  const cluster = new FakeCluster(1);
  const client = await clientOn(cluster, { sessionTimeoutMs: 1999 });
  try {
    await rejects(() => client.put('/a', 'v', { ephemeral: true }), (e) => e instanceof RangeError);
    await client.put('/a', 'v');
  } finally {
    await client.close();
  }
});

test.run();
