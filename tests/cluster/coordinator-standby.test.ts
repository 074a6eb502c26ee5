// Several coordinator processes, one lease (ADR 0023): one acts, the others stand by hot and
// send nothing; kill -9 of the active one and a standby takes over on its own; a graceful stop
// hands the lease over at once; and a coordinator frozen past its lease (SIGSTOP) and then
// resumed (SIGCONT) changes nothing, neither the cluster status nor any server's term. With the
// status in a file (lease files beside it) and in a ConfigMap (a Lease) on the fake API server.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as GrpcCode, type ServiceError } from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GrpcAdminClient } from '../../src/adapters/admin-client/grpc-admin-client.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import type { RoleProcess } from '../../src/bootstrap/dev-cluster/role-process.js';
import { decodeClusterStatus } from '../../src/domain/cluster/cluster-status-codec.js';
import type { ClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import { FileLeaseStore } from '../../src/adapters/status-file/file-lease-store.js';
import { TestCluster } from '../support/cluster.js';
import { configMapObject, FakeKubeApi } from '../support/fake-kube-api.js';
import { waitFor } from '../support/wait.js';
import { runCli, startCli, type RunningCli } from '../cli/support.js';
import { ACQUIRED, CLAIMED, isLeaderGauge, logged, LOST, nodeTerms, STANDING_BY } from './support/coordinators.js';
import { RecordingLogger } from './support/test-logger.js';

type Metadata = 'file' | 'configmap';

/** Nothing scheduled moves shards during a test (a move would be a legitimate status change). */
const NO_BALANCING = 'loadBalancer:\n  scheduleInterval: 1h\n  quarantineTime: 1h\n';

/** A cluster whose coordinators keep the status in a file or in a ConfigMap of the fake API server. */
class Setup {
  private constructor(
    readonly metadata: Metadata,
    readonly cluster: TestCluster,
    readonly api: FakeKubeApi | undefined,
  ) {}

  static async start(metadata: Metadata, shards: number, coordinatorArgs: readonly string[] = []): Promise<Setup> {
    const api = metadata === 'configmap' ? await FakeKubeApi.start() : undefined;
    const kubernetesArgs = ['--conf', 'configmap:oxia/cluster-config', '--metadata', 'configmap', '--k8s-namespace', 'oxia', '--k8s-configmap-name', 'oxia-status'];
    let cluster: TestCluster;
    try {
      cluster = await TestCluster.start({
        nodes: 3,
        namespaces: [{ name: 'default', shards, rf: 3 }],
        withoutCoordinator: true,
        configExtra: NO_BALANCING,
        coordinatorArgs: [...(api ? kubernetesArgs : []), ...coordinatorArgs],
      });
    } catch (e) {
      await api?.close();
      throw e;
    }
    if (api) {
      // The coordinators find the fake API server through $KUBECONFIG, as kubectl would.
      const kubeconfig = join(cluster.dir, 'kubeconfig');
      writeFileSync(kubeconfig, api.kubeConfig().exportConfig());
      process.env.KUBECONFIG = kubeconfig;
      api.apply('configmaps', 'oxia', configMapObject('cluster-config', { 'config.yaml': readFileSync(cluster.configPath, 'utf8') }));
    }
    return new Setup(metadata, cluster, api);
  }

  /** The stored status exactly as stored, version included. */
  statusSnapshot(): string {
    if (!this.api) return readFileSync(this.cluster.statusPath, 'utf8');
    const cm = this.api.get('configmaps', 'oxia', 'oxia-status');
    return JSON.stringify({ version: cm?.metadata.resourceVersion, data: cm?.['data'] });
  }

  status(): ClusterStatus {
    if (!this.api) return this.cluster.readStatus();
    return decodeClusterStatus((this.api.get('configmaps', 'oxia', 'oxia-status') as unknown as { data: { status: string } }).data.status);
  }

  async lease(): Promise<{ holder: string; transitions: number }> {
    if (this.api) {
      const spec = this.api.get('leases', 'oxia', 'oxia-status')?.['spec'] as { holderIdentity: string; leaseTransitions: number };
      return { holder: spec.holderIdentity, transitions: spec.leaseTransitions };
    }
    const record = (await new FileLeaseStore({ dir: `${this.cluster.statusPath}.lease` }, new RecordingLogger()).read())!.record;
    return { holder: record.holder, transitions: record.transitions };
  }

  async close(): Promise<void> {
    await this.cluster.close();
    await this.api?.close();
  }
}

const holderOf = (p: RoleProcess): string => String(p.serving.leaseHolder);

/** The names of the namespaces, as the coordinator's admin API lists them; rejects as the call does. */
async function adminNamespaces(p: RoleProcess): Promise<string[]> {
  const admin = new GrpcAdminClient(String(p.serving.publicAddress), { security: PLAINTEXT, requestTimeoutMs: 20_000 });
  try {
    return (await admin.call('listNamespaces', {})).namespaces.map((n) => n.namespace?.name ?? '').sort();
  } finally {
    admin.close();
  }
}

/** Starts two coordinators, the first one in charge once every shard has a leader, the second standing by. */
async function activeAndStandby(s: Setup): Promise<[RoleProcess, RoleProcess]> {
  const active = await s.cluster.startCoordinator();
  await s.cluster.leaders();
  const standby = await s.cluster.startCoordinator();
  await waitFor(() => logged(standby, STANDING_BY).length > 0, 'the second coordinator stands by', 30_000);
  assert.is(await isLeaderGauge(active), 1);
  assert.is(await isLeaderGauge(standby), 0);
  assert.is((await s.lease()).holder, holderOf(active));
  return [active, standby];
}

async function killActiveThenStandbyActs(metadata: Metadata): Promise<void> {
  const s = await Setup.start(metadata, 2);
  try {
    const [active, standby] = await activeAndStandby(s);
    // Standing by, it sent nothing and wrote nothing, and its admin API sends callers to the active one.
    assert.is(logged(standby, CLAIMED).length, 0, 'the standby never claimed the status');
    assert.is(logged(standby, 'starting an election').length, 0);
    const refused = await adminNamespaces(standby).then(
      () => undefined,
      (e: unknown) => e as ServiceError,
    );
    assert.is(refused?.code, GrpcCode.UNAVAILABLE, 'the standby refuses admin calls');
    assert.match(refused?.details ?? '', /stands by/);
    assert.equal(await adminNamespaces(active), ['default']);
    // `oxia-ts admin` sent to the standby: refused at once without --standby-retry; with it, it
    // retries until the standby has taken over (below) and answers then.
    const adminArgs = ['admin', '--admin-address', String(standby.serving.publicAddress), 'namespace', 'list', '-o', 'json'];
    let patient: RunningCli | undefined;
    if (metadata === 'file') {
      const impatient = await runCli([...adminArgs, '--standby-retry', '0s']);
      assert.is(impatient.code, 1, impatient.stderr);
      assert.match(impatient.stderr, /UNAVAILABLE: .*stands by/);
      patient = startCli([...adminArgs, '--standby-retry', '90s']);
      await waitFor(() => patient!.stderr().includes('retrying'), 'the admin command retries the standby', 60_000);
    }

    await active.kill9();
    const killedAt = Date.now();
    await waitFor(() => logged(standby, CLAIMED).length > 0, 'the standby took over', 30_000);
    const acquired = logged(standby, ACQUIRED)[0]!;
    const claimed = logged(standby, CLAIMED)[0]!;
    assert.ok(acquired.time <= claimed.time, 'the lease first, then the status');
    console.log(`  ${metadata}: the standby acquired the lease ${acquired.time - killedAt} ms and claimed the status ${claimed.time - killedAt} ms after the kill`);
    assert.equal(await s.lease(), { holder: holderOf(standby), transitions: 1 });
    await waitFor(async () => (await isLeaderGauge(standby)) === 1, 'the gauge says so');
    await waitFor(async () => (await adminNamespaces(standby)).includes('default'), 'its admin API answers', 30_000);
    if (patient) {
      assert.is(await patient.exited(), 0, patient.stderr());
      assert.equal(JSON.parse(patient.stdout()).map((v: { namespace: { name: string } }) => v.namespace.name), ['default']);
    }

    // It acts: a leader killed now is replaced by the new coordinator.
    const shards = await s.cluster.leaders();
    const victim = s.cluster.nodeByPublic(shards[0]!.leader);
    await victim.kill9();
    await s.cluster.leaders('default', [victim.publicAddress]);
    assert.ok(s.status().namespaces.get('default')!.shards.get(shards[0]!.shard)!.term >= 1n);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${s.cluster.logs()}`);
  } finally {
    await s.close();
  }
}

async function frozenCoordinatorChangesNothing(metadata: Metadata): Promise<void> {
  const s = await Setup.start(metadata, 2);
  try {
    const [frozen, standby] = await activeAndStandby(s);
    const shards = await s.cluster.leaders();

    frozen.signal('SIGSTOP');
    await waitFor(() => logged(standby, CLAIMED).length > 0, 'the standby took over from the frozen coordinator', 30_000);
    // Work the frozen one would want to do when it wakes: a leader it knows dies, and is replaced.
    const victim = s.cluster.nodeByPublic(shards[0]!.leader);
    await victim.kill9();
    await s.cluster.leaders('default', [victim.publicAddress]);
    await waitFor(() => [...s.status().namespaces.get('default')!.shards.values()].every((m) => m.status === 'SteadyState'), 'steady status');

    const statusBefore = s.statusSnapshot();
    const termsBefore = await nodeTerms(s.cluster, shards.map((x) => x.shard));
    const leaseBefore = await s.lease();

    frozen.signal('SIGCONT');
    // It finds out that its lease is gone before anything else, and stands by.
    await waitFor(() => logged(frozen, LOST).length > 0, 'the resumed coordinator noticed that it lost the lease', 30_000);
    await waitFor(() => logged(frozen, STANDING_BY).length > 0, 'and stands by', 30_000);
    await waitFor(async () => (await isLeaderGauge(frozen)) === 0, 'its gauge says so');
    assert.ok(frozen.running, 'it stays up as a standby');

    assert.is(s.statusSnapshot(), statusBefore, 'the cluster status, version included, is unchanged');
    assert.equal(await nodeTerms(s.cluster, shards.map((x) => x.shard)), termsBefore, 'no server changed term');
    assert.equal(await s.lease().then((l) => l.holder), leaseBefore.holder, 'the lease is still the standby\'s');
    assert.is(await isLeaderGauge(standby), 1);
    const after = logged(frozen, LOST)[0]!.time;
    for (const msg of ['starting an election', 'elected a leader', CLAIMED]) {
      assert.ok(logged(frozen, msg).every((l) => l.time < after), `the resumed coordinator logged no "${msg}" after waking`);
    }
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${s.cluster.logs()}`);
  } finally {
    await s.close();
  }
}

test('file status: kill -9 of the active coordinator; the standby takes the lease, claims the status and acts', () => killActiveThenStandbyActs('file'));

test('ConfigMap status and a Lease: kill -9 of the active coordinator; the standby takes the Lease, claims the status and acts', () =>
  killActiveThenStandbyActs('configmap'));

test('file status: a coordinator frozen past its lease (SIGSTOP) and resumed (SIGCONT) changes nothing', () => frozenCoordinatorChangesNothing('file'));

test('ConfigMap status: a coordinator frozen past its lease (SIGSTOP) and resumed (SIGCONT) changes nothing', () =>
  frozenCoordinatorChangesNothing('configmap'));

test('a graceful stop hands the lease over: the standby sees it free and takes it without waiting for it to lapse', async () => {
  // A lease that would take a minute to lapse: a takeover sooner can only come from the release.
  const s = await Setup.start('file', 1, ['--lease-duration', '60s', '--lease-renew-deadline', '20s', '--lease-retry-period', '200ms']);
  try {
    const [active, standby] = await activeAndStandby(s);
    const exit = await active.stop(30_000);
    assert.is(exit.code, 0);
    await waitFor(() => logged(standby, CLAIMED).length > 0, 'the standby took over', 20_000);
    assert.ok(logged(standby, 'the coordinator lease is free').length > 0, 'it saw the lease released');
    assert.equal(await s.lease(), { holder: holderOf(standby), transitions: 1 });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${s.cluster.logs()}`);
  } finally {
    await s.close();
  }
});

test.run();
