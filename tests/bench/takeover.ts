// `npm run bench -- --takeover`: how long a cluster goes without an acting coordinator, and
// without a writable shard, when the active coordinator and a shard leader die together (issue
// 10, ADR 0023). Each trial starts a local cluster (3 storage nodes, --shards shards of
// replication factor 3) with two coordinators at their default settings (lease and health checks;
// only the load balancer is off, so that no leader moves during a trial), waits for the second to stand by and for a write load
// (8 writers through the oxia-ts client, connected to a node that survives) to reach every
// shard, then SIGKILLs the active coordinator and the leader of one shard at the same moment,
// and reports, from that moment:
//   - lease:    when the standby took the lease (its log line's time);
//   - acts:     when it claimed the cluster status (its first write; no node hears from it before);
//   - election: when it started the election of the shard whose leader died;
//   - writable: when every shard had acknowledged a write issued after both processes were gone
//     (the shard of the dead leader last).
// Flags: --trials 5  --metadata file|configmap|both (both; configmap runs against the fake API
// server of tests/support)  --shards 3  --json
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RoleProcess } from '../../src/bootstrap/dev-cluster/role-process.js';
import { TestCluster } from '../support/cluster.js';
import { configMapObject, FakeKubeApi } from '../support/fake-kube-api.js';
import { waitFor } from '../support/wait.js';
import { ACQUIRED, CLAIMED, logged, STANDING_BY } from '../cluster/support/coordinators.js';
import { WriteLoad } from '../cluster/support/write-load.js';

type Metadata = 'file' | 'configmap';

interface Trial {
  readonly metadata: Metadata;
  readonly leaseMs: number;
  readonly actsMs: number;
  readonly electionMs: number;
  readonly writableMs: number;
}

const { values: flags } = parseArgs({
  options: {
    takeover: { type: 'boolean', default: true },
    trials: { type: 'string', default: '5' },
    metadata: { type: 'string', default: 'both' },
    shards: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});

function usage(message: string): never {
  process.stderr.write(`bench --takeover: ${message}\n`);
  process.exit(2);
}

const trials = Number(flags.trials);
if (!Number.isSafeInteger(trials) || trials < 1) usage(`--trials must be a positive integer, got "${flags.trials}"`);
const shardCount = Number(flags.shards);
if (!Number.isSafeInteger(shardCount) || shardCount < 1) usage(`--shards must be a positive integer, got "${flags.shards}"`);
const kinds: Metadata[] =
  flags.metadata === 'both' ? ['file', 'configmap'] : flags.metadata === 'file' || flags.metadata === 'configmap' ? [flags.metadata] : usage(`--metadata must be file, configmap or both`);

async function trial(metadata: Metadata): Promise<Trial> {
  const api = metadata === 'configmap' ? await FakeKubeApi.start() : undefined;
  const kubernetes = ['--conf', 'configmap:oxia/cluster-config', '--metadata', 'configmap', '--k8s-namespace', 'oxia', '--k8s-configmap-name', 'oxia-status'];
  const cluster = await TestCluster.start({
    nodes: 3,
    namespaces: [{ name: 'default', shards: shardCount, rf: 3 }],
    withoutCoordinator: true,
    // The coordinators' own health check settings, not the tests' faster ones.
    defaultHealthChecks: true,
    coordinatorArgs: api ? kubernetes : [],
    // No leader moves during a trial: the leader chosen to die must still lead when it dies.
    configExtra: 'loadBalancer:\n  scheduleInterval: 1h\n',
  });
  let load: WriteLoad | undefined;
  try {
    if (api) {
      const kubeconfig = join(cluster.dir, 'kubeconfig');
      writeFileSync(kubeconfig, api.kubeConfig().exportConfig());
      process.env.KUBECONFIG = kubeconfig;
      api.apply('configmaps', 'oxia', configMapObject('cluster-config', { 'config.yaml': readFileSync(cluster.configPath, 'utf8') }));
    }
    const active = await cluster.startCoordinator();
    const shards = await cluster.leaders();
    const standby: RoleProcess = await cluster.startCoordinator();
    await waitFor(() => logged(standby, STANDING_BY).length > 0, 'the standby stands by', 30_000);

    // The client talks to a node that survives; the dead leader leads another shard.
    const survivor = cluster.nodes[0]!;
    load = await WriteLoad.start(survivor.publicAddress, shards);
    await waitFor(() => shards.every((s) => load!.acksOn(s.shard).length >= 20), 'writes on every shard', 60_000);
    // Leaders as they are now (the balancer may have moved one since the start).
    const victimShard = (await cluster.leaders()).find((s) => s.leader !== survivor.publicAddress);
    if (!victimShard) throw new Error('every shard is led by the first node; no leader to kill without killing the client\'s node');
    const victim = cluster.nodeByPublic(victimShard.leader);

    const killedAt = Date.now();
    await Promise.all([active.kill9(), victim.kill9()]);
    // Only writes issued once both were gone count: an answer the dead leader sent just before
    // dying can still arrive a few milliseconds after the signal.
    const deadAt = Date.now();
    const firstAck = (shard: bigint) => load!.acks.find((a) => a.shard === shard && a.issuedAtMs >= deadAt);
    await waitFor(() => shards.every((s) => firstAck(s.shard) !== undefined), 'every shard writable again', 120_000);
    await waitFor(() => logged(standby, CLAIMED).length > 0, 'the standby acted', 30_000);
    const elections = logged(standby, 'starting an election').filter((l) => l['shard'] === victimShard.shard.toString());
    const writable = Math.max(...shards.map((s) => firstAck(s.shard)!.atMs));
    return {
      metadata,
      leaseMs: logged(standby, ACQUIRED)[0]!.time - killedAt,
      actsMs: logged(standby, CLAIMED)[0]!.time - killedAt,
      electionMs: elections.length > 0 ? elections[0]!.time - killedAt : NaN,
      writableMs: writable - killedAt,
    };
  } catch (e) {
    process.stderr.write(`${cluster.logs()}\n`);
    throw e;
  } finally {
    await load?.stop();
    await cluster.close();
    await api?.close();
  }
}

function stats(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return `min ${sorted[0]} / median ${median} / max ${sorted.at(-1)} ms`;
}

const results: Trial[] = [];
for (const metadata of kinds) {
  for (let i = 0; i < trials; i++) {
    const t = await trial(metadata);
    results.push(t);
    if (!flags.json) {
      process.stdout.write(
        `${metadata} #${i + 1}: lease ${t.leaseMs} ms, acts ${t.actsMs} ms, election ${t.electionMs} ms, every shard writable ${t.writableMs} ms (load ${loadavg()[0]!.toFixed(2)})\n`,
      );
    }
  }
}
if (flags.json) {
  process.stdout.write(`${JSON.stringify(results)}\n`);
} else {
  for (const metadata of kinds) {
    const of = results.filter((r) => r.metadata === metadata);
    process.stdout.write(`\n${metadata}, ${of.length} trials, from the SIGKILL of the active coordinator and a shard leader:\n`);
    process.stdout.write(`  standby took the lease   ${stats(of.map((r) => r.leaseMs))}\n`);
    process.stdout.write(`  standby acts (claims)    ${stats(of.map((r) => r.actsMs))}\n`);
    process.stdout.write(`  election of the shard    ${stats(of.map((r) => r.electionMs))}\n`);
    process.stdout.write(`  every shard writable     ${stats(of.map((r) => r.writableMs))}\n`);
  }
}
