// The official Oxia Node client's documented usage (its README), run unchanged except for
// the import, against oxia-ts standalone. (A natural-order namespace: shard-merge-order.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ComparisonType,
  EXPECTED_RECORD_DOES_NOT_EXIST,
  KeyNotFoundError,
  OxiaClient,
  OxiaError,
  TokenAuthentication,
  UnexpectedVersionIdError,
  type Authentication,
} from '../../../src/adapters/client/index.js';
import { startStandalone } from '../../support/standalone.js';

test('README usage: quick start, options, operations, sequences, notifications, errors', async () => {
  const server = await startStandalone({ shards: 3 });
  try {
    // Quick start
    const client = await OxiaClient.connect(server.address);
    try {
      const { key, version } = await client.put('/users/alice', 'hello', { expectedVersionId: EXPECTED_RECORD_DOES_NOT_EXIST });
      assert.is(key, '/users/alice');
      const got = await client.get('/users/alice');
      assert.equal([got.key, new TextDecoder().decode(got.value), got.version.versionId], ['/users/alice', 'hello', version.versionId]);
      await client.delete('/users/alice');
    } finally {
      await client.close();
    }

    // Client options
    class MyAuth implements Authentication {
      generateCredentials() {
        return { 'x-my-header': 'value' };
      }
    }
    const c = await OxiaClient.connect(server.address, {
      namespace: 'default',
      sessionTimeoutMs: 30_000,
      heartbeatIntervalMs: 3_000,
      clientIdentifier: 'my-worker',
      requestTimeoutMs: 30_000,
      initTimeoutMs: 30_000,
      authentication: new MyAuth(),
    });
    const c2 = await OxiaClient.connect(server.address, { authentication: new TokenAuthentication(async () => 'token') });
    try {
      assert.is((await c2.put('/with-token', 't')).key, '/with-token');
      // put / delete / get
      const v1 = await c.put('/k', 'v');
      await c.put('/k', 'v2', { expectedVersionId: v1.version.versionId });
      await c.put('/k-eph', 'v', { ephemeral: true });
      await c.put('/k-idx', 'v', { secondaryIndexes: { 'by-user': 'alice' } });
      const v = await c.get('/k');
      await c.delete('/k', { expectedVersionId: v.version.versionId });
      await c.put('/k', 'v');
      const r2 = await c.get('/k', { comparisonType: ComparisonType.FLOOR });
      assert.is(r2.key, '/k');
      const r3 = await c.get('alice', { useIndex: 'by-user' });
      assert.is(r3.key, '/k-idx');

      // Range operations
      await c.put('/users/bob', 'b');
      await c.put('/users/carol', 'c');
      assert.equal(await c.list('/users/', '/users/~'), ['/users/bob', '/users/carol']);
      const scanned: string[] = [];
      for await (const rec of c.rangeScan('/users/', '/users/~')) scanned.push(`${rec.key}=${new TextDecoder().decode(rec.value)}`);
      assert.equal(scanned, ['/users/bob=b', '/users/carol=c']);
      await c.put('/tmp/x', 'x');
      await c.deleteRange('/tmp/', '/tmp/~');
      assert.equal(await c.list('/tmp/', '/tmp/~'), []);
      await c.put('entry-a', 'v', { partitionKey: 'session-42' });
      assert.equal(await c.list('entry-', 'entry-~', { partitionKey: 'session-42' }), ['entry-a']);

      // Sequential keys
      const r = await c.put('ticket', 'payload', { partitionKey: 'queue', sequenceKeysDeltas: [1] });
      assert.is(r.key, 'ticket-00000000000000000001');

      // Notifications: close() from inside the loop ends it
      const notifications = c.getNotifications();
      // Written by this client after subscribing: guaranteed to be seen.
      const writer = c.put('/watched', 'w');
      const seen: string[] = [];
      for await (const n of notifications) {
        seen.push(`${n.type}:${n.key}`);
        if (n.key === '/watched') notifications.close();
      }
      await writer;
      assert.ok(seen.includes('0:/watched'));

      // Sequence updates
      const updates = c.getSequenceUpdates('ticket', { partitionKey: 'queue' });
      for await (const latestKey of updates) {
        assert.is(latestKey, 'ticket-00000000000000000001');
        break;
      }

      // Errors
      await c.get('/nope').then(
        () => assert.unreachable('get of a missing key'),
        (e: unknown) => assert.ok(e instanceof KeyNotFoundError && e instanceof OxiaError),
      );
      await c.put('/k', 'x', { expectedVersionId: EXPECTED_RECORD_DOES_NOT_EXIST }).then(
        () => assert.unreachable('conditional put'),
        (e: unknown) => assert.ok(e instanceof UnexpectedVersionIdError),
      );
    } finally {
      await c.close();
      await c2.close();
    }
  } finally {
    await server.stop();
  }
});

test('with notifications disabled on the server, a subscription fails at once with a clear error', async () => {
  const server = await startStandalone({ shards: 2, extraArgs: ['--no-notifications-enabled'] });
  const client = await OxiaClient.connect(server.address);
  try {
    const sub = client.getNotifications();
    const started = Date.now();
    await client.put('/x', 'v'); // not held up by the failed subscription
    let error: unknown;
    try {
      for await (const _ of sub) assert.unreachable('no notification expected');
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof OxiaError, String(error));
    assert.is((error as OxiaError).kind, 'NotificationsNotEnabled');
    assert.match((error as Error).message, /not enabled/);
    assert.ok(Date.now() - started < 5000);
  } finally {
    await client.close();
    await server.stop();
  }
});

test.run();
