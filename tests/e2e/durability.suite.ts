// kill -9 under load loses no acknowledged write: a writer streams puts, the server is
// SIGKILLed at a random moment, restarted on the same data, and every put it had
// acknowledged must be there with its value and version.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Status } from '../../src/domain/wire/client.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { startStandalone } from '../support/standalone.js';

interface Acked {
  shard: bigint;
  value: string;
  versionId: bigint;
}

export function durabilitySuite(kv: 'sqlite' | 'level', rounds: number, shards: number): void {
  test(`kill -9 loses no acknowledged write (--kv ${kv}, ${shards} shards, ${rounds} rounds)`, async () => {
    const server = await startStandalone({ shards, kv });
    const acked = new Map<string, Acked>();
    try {
      for (let round = 0; round < rounds; round++) {
        let client = new RawOxiaClient(server.address);
        const layout = await client.shards();
        let stop = false;
        let sent = 0;
        const writer = async (w: number) => {
          for (let i = 0; !stop; i++) {
            const key = `/durable/r${round}/w${w}/${i}`;
            const value = `${key}:${'x'.repeat(i % 200)}`;
            const shard = RawOxiaClient.shardFor(layout, key);
            sent++;
            try {
              const r = await client.put(shard, { key, value: Buffer.from(value) });
              const put = r.puts[0];
              if (put?.status === Status.OK && put.version) acked.set(key, { shard, value, versionId: put.version.versionId });
            } catch {
              return; // the server died under us: unacknowledged, nothing to check
            }
          }
        };
        const writers = Array.from({ length: 16 }, (_, w) => writer(w));
        // Kill at a random moment once writes are flowing.
        const ackedBefore = acked.size;
        const target = ackedBefore + 50 + Math.floor(Math.random() * 2000);
        const deadline = Date.now() + 30_000;
        while (acked.size < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        assert.ok(acked.size > ackedBefore, `round ${round}: writes were acknowledged before the kill (sent ${sent})`);
        await server.kill9();
        stop = true;
        await Promise.all(writers);
        client.close();

        await server.restart();
        client = new RawOxiaClient(server.address);
        const missing: string[] = [];
        for (const [key, a] of acked) {
          const g = await client.get(a.shard, key);
          if (g.status !== Status.OK || Buffer.from(g.value ?? []).toString() !== a.value || g.version?.versionId !== a.versionId) {
            missing.push(`${key} (status ${g.status}, version ${g.version?.versionId} vs ${a.versionId})`);
          }
        }
        client.close();
        assert.equal(missing.slice(0, 10), [], `round ${round}: ${missing.length} of ${acked.size} acknowledged writes lost or changed`);
      }
    } finally {
      await server.stop();
    }
  });
}

export { test };
