// Across server restarts (graceful and kill -9, both backends): notifications resume
// where they stopped, with nothing lost and nothing repeated; writes issued while the
// server is down are retried until it is back; the client needs no reconnecting.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NotificationType, OxiaClient, type Notification } from '../../../src/adapters/client/index.js';
import { startStandalone, type StandaloneProcess } from '../../support/standalone.js';
import { nextItems } from './client-api.suite.js';
import { routingHash } from '../../../src/domain/sharding/hash.js';
import { findByHash, splitHashRange } from '../../../src/domain/sharding/hash-range.js';

const shardOf = (key: string) => findByHash(splitHashRange(3).map((range, i) => ({ range, i })), routingHash(key))?.i;

for (const kv of ['sqlite', 'level'] as const) {
  const S = suite(`restarts, --kv ${kv}, --shards 3`);
  let server: StandaloneProcess;
  let client: OxiaClient;

  S.before(async () => {
    server = await startStandalone({ shards: 3, kv });
    client = await OxiaClient.connect(server.address, { logger: { warn: () => {} } });
  });
  S.after(async () => {
    await client?.close();
    await server?.stop();
  });

  for (const how of ['graceful', 'kill -9'] as const) {
    S(`notifications resume after a ${how} restart`, async () => {
      const p = `/restart-${how.replace(/\W/g, '')}`;
      const sub = client.getNotifications();
      try {
        const it = sub[Symbol.asyncIterator]();
        const before = Array.from({ length: 9 }, (_, i) => `${p}/before/${i}`);
        // Every shard stream has delivered a batch, so every one knows its offset.
        assert.is(new Set(before.map(shardOf)).size, 3);
        await Promise.all(before.map((k) => client.put(k, 'v')));
        const first = await nextItems(it, before.length);
        assert.equal(new Set(first.map((n) => n.key)), new Set(before));

        if (how === 'graceful') await server.stop();
        else await server.kill9();
        // Issued while the server is down: retried until it is back.
        const during = Array.from({ length: 9 }, (_, i) => `${p}/during/${i}`);
        const duringPuts = Promise.all(during.map((k) => client.put(k, 'v')));
        await server.restart();
        await duringPuts;
        const after = Array.from({ length: 9 }, (_, i) => `${p}/after/${i}`);
        await Promise.all(after.map((k) => client.put(k, 'v')));

        const rest: Notification[] = await nextItems(it, during.length + after.length, 30_000);
        assert.equal(rest.map((n) => n.key).sort(), [...during, ...after].sort(), 'each change exactly once');
        assert.ok(rest.every((n) => n.type === NotificationType.KEY_CREATED));
        // Nothing more is pending: one more change arrives next, not a repeat.
        await client.put(`${p}/last`, 'v');
        assert.equal((await nextItems(it, 1)).map((n) => n.key), [`${p}/last`]);
        for (const k of [...before, ...during, ...after]) assert.ok((await client.get(k)).key === k);
      } finally {
        sub.close();
      }
    });
  }

  S.run();
}
