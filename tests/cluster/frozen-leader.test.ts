// A frozen shard leader (SIGSTOP: the process keeps its connections but answers nothing), with
// real processes at the coordinator's default health checks: its shards take writes again
// within seconds, and once resumed it neither serves a stale read nor acknowledges a write
// (read leases, ADR 0024). tests/cluster/frozen-leader.long.test.ts measures over many trials.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestCluster } from '../support/cluster.js';
import { freezeLeaderTrial } from './support/frozen-leader.js';
import { missingAcks } from './support/write-load.js';

/** "Within seconds" (the target is 2 s, measured by the long test), with room for a loaded machine. */
const WRITABLE_AGAIN_MS_MAX = 10_000;

let cluster: TestCluster;

test.before(async () => {
  cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 3, rf: 3 }], defaultHealthChecks: true });
});

test.after(async () => {
  await cluster?.close();
});

test('SIGSTOP of a shard leader under load: its shard takes writes again within seconds', async () => {
  const trial = await freezeLeaderTrial(cluster, 0, 16, '/frozen');
  console.log(`shard ${trial.shard}: writable again ${trial.writableAgainMs} ms after its leader (${trial.victim}) froze`);
  assert.ok(trial.writableAgainMs < WRITABLE_AGAIN_MS_MAX, `writable again after ${trial.writableAgainMs} ms`);
});

test.run();
