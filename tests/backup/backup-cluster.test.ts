// `oxia-ts backup` and `restore` against a replicated cluster (ADR 0030): the copy is read from
// each shard's leader (the CLI is pointed at one server and follows the assignments) while a
// client writes, and restored into another namespace of the same cluster with another shard
// count and replication factor.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OxiaClient } from '../../src/adapters/client/index.js';
import { BackupManifest, MANIFEST_FILE } from '../../src/adapters/backup/backup-manifest.js';
import { runCli } from '../cli/support.js';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const S = suite('backup and restore on a cluster');
const dir = mkdtempSync(join(tmpdir(), 'oxia-backup-cluster-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

let cluster: TestCluster | undefined;
const clients: OxiaClient[] = [];
S.after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await cluster?.close();
});

async function connect(address: string, namespace: string): Promise<OxiaClient> {
  const c = await OxiaClient.connect(address, { namespace, requestTimeoutMs: 30_000, initTimeoutMs: 30_000, logger: { warn: () => {} } });
  clients.push(c);
  return c;
}

S('copied from the leaders while writes go on, restored into a namespace of 3 shards at RF 2', async () => {
  cluster = await TestCluster.start({
    nodes: 3,
    namespaces: [
      { name: 'default', shards: 2, rf: 3 },
      { name: 'restored', shards: 3, rf: 2 },
    ],
  });
  const leaders = await cluster.leaders('default');
  await cluster.leaders('restored');
  const entry = cluster.nodes[0]!.publicAddress;
  const writer = await connect(entry, 'default');

  const acked = new Map<string, string>();
  let loading = true;
  const load = (async () => {
    for (let i = 0; loading; i++) {
      const key = `/k/${i}`;
      await writer.put(key, `v${i}`, { secondaryIndexes: { n: `n-${String(i).padStart(6, '0')}` } });
      acked.set(key, `v${i}`);
    }
  })();
  await waitFor(() => acked.size >= 100, 'writes before the backup', 60_000);
  const before = new Map(acked);
  const backupDir = join(dir, 'backup');
  const backup = await runCli(['backup', '-a', entry, '-n', 'default', '--out', backupDir]);
  const during = acked.size - before.size;
  loading = false;
  await load;
  assert.is(backup.code, 0, backup.stderr);
  assert.ok(during > 0, 'writes went on while the backup ran');

  const manifest = BackupManifest.parse(JSON.parse(readFileSync(join(backupDir, MANIFEST_FILE), 'utf8')));
  assert.equal(manifest.shards.map((s) => s.leader).sort(), leaders.map((l) => l.leader).sort(), 'each shard was read from its leader');

  const restore = await runCli(['restore', '-a', entry, '-n', 'restored', '--in', backupDir]);
  assert.is(restore.code, 0, restore.stderr);
  const reader = await connect(cluster.nodes[1]!.publicAddress, 'restored');
  for (const [key, value] of before) {
    const got = await reader.get(key);
    assert.is(Buffer.from(got.value!).toString(), value, key);
  }
  const some = [...before.keys()][42]!;
  assert.is((await reader.get(`n-${String(42).padStart(6, '0')}`, { useIndex: 'n' })).key, some);
  assert.is((await reader.list('', '')).length, manifest.records);
});

S.run();
