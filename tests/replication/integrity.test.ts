// ADR 0031 on real `oxia-ts server` processes: a follower whose files were changed while it
// was down is found out after its restart (by the CRC chain its leader sends, or by its
// store no longer giving the digest it recorded), counted, dropped and rebuilt from its
// leader's snapshot, and no acknowledged write is lost: the rebuilt node then leads and
// serves every one of them.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FileWalFactory } from '../../src/adapters/wal-file/file-wal-factory.js';
import type { KvStore } from '../../src/application/ports/kv-store.js';
import { storeDigestMismatch } from '../../src/application/shard/store-digest-scan.js';
import { digestWith, integrityOp, readIntegrity } from '../../src/domain/integrity/index.js';
import { encodeMessage } from '../../src/domain/database/message-encoding.js';
import { keyEncoder } from '../../src/domain/keys/key-encoder.js';
import { DeleteRangeRequest, DeleteRequest, PutRequest, Status, WriteRequest } from '../../src/domain/wire/client.js';
import { LogEntryValue } from '../../src/domain/wire/storage.js';
import { factoryFor } from '../application/fixtures/range-workload.js';
import { scrapeMetrics } from '../support/metrics-scrape.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { assignments, elect, NAMESPACE, ServingStatus, startNodes, stopNodes, valuesThatDiffer, waitForStatus, type ClusterNode } from './support/cluster.js';

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
  readonly check: 'log_chain' | 'stored_digest' | 'state_digest';
  readonly logged: string;
  /** More server flags. */
  readonly args?: readonly string[];
}

/** Flips the last byte of /k/7's stored value in a stopped node's store; returns the store, still open. */
async function damageRecord(node: ClusterNode, kv: 'sqlite' | 'level'): Promise<{ store: KvStore; key: Uint8Array; stored: Uint8Array; damaged: Uint8Array }> {
  const store = await factoryFor(kv, join(node.process.dataDir, 'db')).open(SHARD);
  const key = keyEncoder('hierarchical').encode('/k/7');
  const stored = await store.get(key);
  assert.ok(stored, 'the follower holds /k/7');
  const damaged = Buffer.from(stored);
  damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0x01, damaged.length - 1);
  await store.write([{ type: 'put', key, value: damaged }]);
  return { store, key, stored, damaged };
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
      const { store } = await damageRecord(node, 'level');
      await store.close();
    },
  },
  {
    // What a non-deterministic apply leaves: a store that gives the digest it recorded, but not
    // the leader's state. The open check cannot see it; the comparison with the leader's digest does.
    name: "a record changed in the follower's store, and its recorded digest with it",
    kv: 'sqlite',
    check: 'state_digest',
    logged: "the state differs from the leader's",
    args: ['--state-digest-checkpoint-entries', '8'],
    async damage(node) {
      const { store, key, stored, damaged } = await damageRecord(node, 'sqlite');
      try {
        const record = await readIntegrity(store);
        assert.ok(record, 'the follower recorded its digest');
        const digest = digestWith(digestWith(record.digest, key, stored, -1), key, damaged, 1);
        await store.write([integrityOp({ ...record, digest }, 0n)]);
        assert.is(await storeDigestMismatch(store), undefined, 'the store gives the digest it recorded: the open check passes');
      } finally {
        await store.close();
      }
    },
  },
];

for (const s of scenarios) {
  test(`${s.name} (--kv ${s.kv}): found after the restart, counted, rebuilt from a snapshot, no acknowledged write lost`, async () => {
    const nodes = await startNodes(3, { kv: s.kv, extraArgs: s.args ?? [] });
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
      for (const other of ['log_chain', 'stored_digest', 'state_digest'].filter((c) => c !== s.check)) {
        assert.is(await divergences(n2, other), 0, `and none by ${other}`);
      }

      for (let i = 0; i < 10; i++) await put(`/rebuilt/${i}`, `rebuilt-${i}`);
      const last = await n0.coordination.getStatus(0n);
      await waitForStatus(n2, 0n, { status: ServingStatus.FOLLOWER, headAtLeast: last.headOffset, commitAtLeast: last.commitOffset }, 'n2 to follow at the head');

      // n2 now leads: it serves every acknowledged write, and nothing the leader never wrote.
      await elect(0n, 2n, n2, [n0, n1]);
      for (const n of nodes) n.coordination.pushAssignments(assignments([n2.publicAddress]));
      const c2 = new RawOxiaClient(n2.publicAddress);
      try {
        await waitFor(async () => (await c2.get(0n, '/probe').then(() => true, () => false)), 'n2 to serve');
        assert.equal(await valuesThatDiffer(c2, 0n, acknowledged), [], `acknowledged writes differ on the rebuilt node`);
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

/** The state digest comparisons `node` made for shard 0 (ADR 0031). */
async function comparisons(node: ClusterNode): Promise<number> {
  const m = await scrapeMetrics(node.process.metricsAddress);
  return m.sum('oxia_server_replica_digest_comparisons_total', { shard: '0' });
}

/**
 * Write requests of every kind the state machine applies, `count` of them, `parallel` at a time:
 * puts (some with secondary index entries), deletes, delete ranges, ephemeral records of
 * sessions that are closed and created again as it goes.
 */
async function mixedWorkload(client: RawOxiaClient, count: number, parallel: number, seed: number): Promise<void> {
  let session = await client.createSession(0n, 60_000, `workload-${seed}`);
  const one = async (i: number, sessionId: bigint): Promise<void> => {
    const n = seed + i;
    let r;
    switch (n % 10) {
      case 6:
        r = await client.del(0n, { key: `/w/${(n * 11) % 400}` });
        break;
      case 7:
        r = await client.put(0n, { key: `/e/${n}`, value: Buffer.from(`ephemeral ${n}`), sessionId, clientIdentity: `workload-${seed}` });
        break;
      case 8:
        r = await client.write({
          shard: 0n,
          puts: [PutRequest.fromPartial({ key: `/w/${(n * 13) % 400}`, value: Buffer.from(`both ${n}`) })],
          deletes: [DeleteRequest.fromPartial({ key: `/w/${(n * 17) % 400}` })],
          deleteRanges: n % 100 === 8 ? [DeleteRangeRequest.fromPartial({ startInclusive: `/w/${n % 4}`, endExclusive: `/w/${(n % 4) + 1}` })] : [],
        });
        break;
      default:
        r = await client.put(0n, {
          key: `/w/${(n * 7) % 400}`,
          value: Buffer.from(`value ${n}`),
          secondaryIndexes: n % 3 === 0 ? [{ indexName: 'mod', secondaryKey: String(n % 13) }] : [],
        });
    }
    assert.ok(r.puts.every((p) => p.status === Status.OK) && r.deletes.every((d) => d.status === Status.OK || d.status === Status.KEY_NOT_FOUND), `write ${n}`);
  };
  for (let start = 0; start < count; start += parallel) {
    if (start > 0 && start % 400 < parallel) {
      await client.closeSession(0n, session);
      session = await client.createSession(0n, 60_000, `workload-${seed}`);
    }
    await Promise.all(Array.from({ length: Math.min(parallel, count - start) }, (_, j) => one(start + j, session)));
  }
  await client.closeSession(0n, session);
}

test('a SQLite and a LevelDB replica of one shard agree at every checkpoint: thousands of writes, deletes, delete ranges, sessions', async () => {
  const args = ['--state-digest-checkpoint-entries', '16'];
  const [n0] = await startNodes(1, { kv: 'sqlite', extraArgs: args });
  const [n1] = await startNodes(1, { kv: 'level', extraArgs: args });
  const [n2] = await startNodes(1, { kv: 'sqlite', extraArgs: args });
  const nodes = [n0!, n1!, n2!];
  const client = new RawOxiaClient(n0!.publicAddress);
  let stopped = false;
  try {
    await elect(0n, 1n, n0!, [n1!, n2!]);
    for (const n of nodes) n.coordination.pushAssignments(assignments([n0!.publicAddress]));
    await waitFor(async () => (await client.get(0n, '/probe').then(() => true, () => false)), 'n0 to serve');
    // A session left to expire: the leader ends it through the log, on its own clock.
    const expiring = await client.createSession(0n, 2_000, 'expiring');
    assert.is((await client.put(0n, { key: '/x/expiring', value: Buffer.from('x'), sessionId: expiring, clientIdentity: 'expiring' })).puts[0]?.status, Status.OK);
    await mixedWorkload(client, 2400, 24, 0);
    await waitFor(async () => (await client.get(0n, '/x/expiring')).status === Status.KEY_NOT_FOUND, 'the session to expire');

    // The LevelDB replica leads; the SQLite ones compare with it.
    const head = await n0!.coordination.getStatus(0n);
    for (const f of [n1!, n2!]) await waitForStatus(f, 0n, { commitAtLeast: head.commitOffset }, 'the followers to apply every write');
    await elect(0n, 2n, n1!, [n0!, n2!]);
    for (const n of nodes) n.coordination.pushAssignments(assignments([n1!.publicAddress]));
    const c1 = new RawOxiaClient(n1!.publicAddress);
    try {
      await waitFor(async () => (await c1.get(0n, '/probe').then(() => true, () => false)), 'n1 to serve');
      await mixedWorkload(c1, 600, 12, 5000);
    } finally {
      c1.close();
    }
    // Every replica at the same offset: the leader's commit, applied everywhere.
    let applied: bigint[] = [];
    await waitFor(async () => {
      applied = await Promise.all(nodes.map(async (n) => (await n.coordination.getStatus(0n)).commitOffset));
      return applied.every((o) => o === applied[0]);
    }, 'every replica to apply every write');

    for (const n of nodes) {
      for (const check of ['log_chain', 'state_digest', 'stored_digest']) assert.is(await divergences(n, check), 0, `${n.name}: no divergence by ${check}`);
    }
    // Each follower compared at many checkpoints (the leader's digest reaches it once per checkpoint).
    assert.ok((await comparisons(n1!)) >= 20, `the LevelDB follower compared its digest with the SQLite leader's (${await comparisons(n1!)})`);
    assert.ok((await comparisons(n0!)) >= 5, `the SQLite follower compared with the LevelDB leader's (${await comparisons(n0!)})`);
    assert.ok((await comparisons(n2!)) >= 25, `the other SQLite follower compared with both (${await comparisons(n2!)})`);

    // At rest: the three stores record one offset and one digest, and their records give it.
    stopped = true;
    await stopNodes(nodes);
    const records = [];
    for (const [n, kv] of [[n0!, 'sqlite'], [n1!, 'level'], [n2!, 'sqlite']] as const) {
      const store = await factoryFor(kv, join(n.process.dataDir, 'db')).open(SHARD);
      try {
        const record = await readIntegrity(store);
        assert.ok(record, `${kv} store has its integrity record`);
        assert.is(await storeDigestMismatch(store), undefined, `${kv} store gives the digest it recorded`);
        records.push({ offset: record.offset, digest: record.digest });
      } finally {
        await store.close();
      }
    }
    assert.is(records[0]!.offset, applied[0]);
    assert.equal(records[1], records[0], 'the LevelDB store: same offset, same digest');
    assert.equal(records[2], records[0], 'the other SQLite store: same offset, same digest');
  } finally {
    client.close();
    if (!stopped) await stopNodes(nodes);
  }
});

test.run();
