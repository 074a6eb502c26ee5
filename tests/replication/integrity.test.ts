// ADR 0031 on real `oxia-ts server` processes: a follower whose files were changed while it
// was down is found out after its restart (by the CRC chain its leader sends, or by its
// store no longer giving the digest it recorded), counted, dropped and rebuilt from its
// leader's snapshot, and no acknowledged write is lost: the rebuilt node then leads and
// serves every one of them.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FileWalFactory } from '../../src/adapters/wal-file/file-wal-factory.js';
import { encodeMessage } from '../../src/domain/database/message-encoding.js';
import { keyEncoder } from '../../src/domain/keys/key-encoder.js';
import { Status, WriteRequest } from '../../src/domain/wire/client.js';
import { LogEntryValue } from '../../src/domain/wire/storage.js';
import { factoryFor } from '../application/fixtures/range-workload.js';
import { scrapeMetrics } from '../support/metrics-scrape.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { assignments, elect, NAMESPACE, ServingStatus, startNodes, stopNodes, waitForStatus, type ClusterNode } from './support/cluster.js';

const SHARD = { namespace: NAMESPACE, shard: 0n };

/** The number of divergences `node` counted for shard 0 by `check`, on a fresh scrape. */
async function divergences(node: ClusterNode, check: string): Promise<number> {
  const m = await scrapeMetrics(node.process.metricsAddress);
  return m.sum('oxia_server_replica_divergence_total', { shard: '0', check });
}

interface Scenario {
  readonly name: string;
  readonly kv: 'sqlite' | 'level';
  /** Changes the stopped follower's files; returns what its log should say when it finds out. */
  damage(node: ClusterNode, head: bigint): Promise<void>;
  readonly check: 'log_chain' | 'stored_digest';
  readonly logged: string;
}

const scenarios: Scenario[] = [
  {
    name: "an entry the leader never wrote, appended to the follower's WAL",
    kv: 'sqlite',
    check: 'log_chain',
    logged: 'replica diverged from its leader',
    async damage(node, head) {
      // A valid record (its file CRCs are right), so only the chain can tell it from the leader's.
      const factory = new FileWalFactory({ dir: join(node.process.dataDir, 'wal') });
      const wal = await factory.open(SHARD);
      try {
        assert.is(wal.lastEntryId().offset, head);
        const value: LogEntryValue = {
          value: { $case: 'requests', value: { writes: [WriteRequest.fromPartial({ puts: [{ key: '/bogus', value: Buffer.from('never written') }] })] } },
        };
        await wal.append([{ term: wal.lastEntryId().term, offset: head + 1n, timestamp: 1n, value: encodeMessage(LogEntryValue, value) }]);
      } finally {
        await wal.close();
      }
    },
  },
  {
    name: "a record changed in the follower's store",
    kv: 'level',
    check: 'stored_digest',
    logged: 'do not give the digest it recorded',
    async damage(node) {
      const kv = await factoryFor('level', join(node.process.dataDir, 'db')).open(SHARD);
      try {
        const key = keyEncoder('hierarchical').encode('/k/7');
        const stored = await kv.get(key);
        assert.ok(stored, 'the follower holds /k/7');
        const damaged = Buffer.from(stored);
        damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0x01, damaged.length - 1);
        await kv.write([{ type: 'put', key, value: damaged }]);
      } finally {
        await kv.close();
      }
    },
  },
];

for (const s of scenarios) {
  test(`${s.name} (--kv ${s.kv}): found after the restart, counted, rebuilt from a snapshot, no acknowledged write lost`, async () => {
    const nodes = await startNodes(3, { kv: s.kv });
    const [n0, n1, n2] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const client = new RawOxiaClient(n0.publicAddress);
    const acknowledged = new Map<string, string>();
    const put = async (key: string, value: string): Promise<void> => {
      const r = await client.put(0n, { key, value: Buffer.from(value) });
      assert.is(r.puts[0]?.status, Status.OK);
      acknowledged.set(key, value);
    };
    try {
      await elect(0n, 1n, n0, [n1, n2]);
      for (const n of nodes) n.coordination.pushAssignments(assignments([n0.publicAddress]));
      await waitFor(async () => (await client.get(0n, '/probe').then(() => true, () => false)), 'n0 to serve');
      for (let i = 0; i < 20; i++) await put(`/k/${i}`, `v-${i}`);
      const before = await n0.coordination.getStatus(0n);
      await waitForStatus(n2, 0n, { headAtLeast: before.headOffset, commitAtLeast: before.commitOffset }, 'n2 to hold and apply the writes');
      await n2.process.kill9();

      await s.damage(n2, before.headOffset);
      await n2.process.restart();
      // The leader's stream reopens the shard on n2; the writes give the chain something to check.
      for (let i = 0; i < 10; i++) await put(`/after/${i}`, `after-${i}`);
      await waitFor(() => n2.process.logs().some((l) => l.includes('snapshot installed')), 'n2 to be rebuilt from a snapshot', 30_000).catch((error: Error) => {
        const tail = (n: ClusterNode) => n.process.logs().slice(-15).join('\n');
        throw new Error(`${error.message}\n--- n2:\n${tail(n2)}\n--- n0:\n${tail(n0)}`);
      });
      assert.ok(n2.process.logs().some((l) => l.includes(s.logged)), `n2 logged what it found: ${s.logged}`);
      assert.ok(n0.process.logs().some((l) => l.includes('sending a snapshot')), 'the leader sent a snapshot');
      assert.is(await divergences(n2, s.check), 1, `n2 counted one divergence by ${s.check}`);

      for (let i = 0; i < 10; i++) await put(`/rebuilt/${i}`, `rebuilt-${i}`);
      const last = await n0.coordination.getStatus(0n);
      await waitForStatus(n2, 0n, { status: ServingStatus.FOLLOWER, headAtLeast: last.headOffset, commitAtLeast: last.commitOffset }, 'n2 to follow at the head');

      // n2 now leads: it serves every acknowledged write, and nothing the leader never wrote.
      await elect(0n, 2n, n2, [n0, n1]);
      for (const n of nodes) n.coordination.pushAssignments(assignments([n2.publicAddress]));
      const c2 = new RawOxiaClient(n2.publicAddress);
      try {
        await waitFor(async () => (await c2.get(0n, '/probe').then(() => true, () => false)), 'n2 to serve');
        const wrong: string[] = [];
        for (const [key, value] of acknowledged) {
          const g = await c2.get(0n, key);
          const got = g.status === Status.OK ? Buffer.from(g.value ?? []).toString() : undefined;
          if (got !== value) wrong.push(`${key}: ${got} != ${value}`);
        }
        assert.equal(wrong, [], `acknowledged writes differ on the rebuilt node`);
        assert.is((await c2.get(0n, '/bogus')).status, Status.KEY_NOT_FOUND, 'no trace of the entry the leader never wrote');
      } finally {
        c2.close();
      }
      assert.is(await divergences(n2, s.check), 1, 'counted once');
    } finally {
      client.close();
      await stopNodes(nodes);
    }
  });
}

test.run();
