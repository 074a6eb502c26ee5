// LeasedCoordinator in this process with its real adapters (file status, file lease, grpc-js
// client) against FakeStorageNodes: a standby sends nothing to any node; it acts once the lease
// is its own; and a coordinator whose lease lapsed while it was frozen refuses every action that
// would change a node or the status, at once, before any of its timers has noticed.
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SystemClock } from '../../src/adapters/clock/system-clock.js';
import { FileClusterConfigSource } from '../../src/adapters/cluster-config/file-cluster-config-source.js';
import { GrpcStorageNodeClient } from '../../src/adapters/coordination-client/grpc-storage-node-client.js';
import { StaticNodeDiscovery } from '../../src/adapters/discovery-static/static-node-discovery.js';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';
import { FileClusterStatusStore } from '../../src/adapters/status-file/file-cluster-status-store.js';
import { FileLeaseStore } from '../../src/adapters/status-file/file-lease-store.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import { LeasedCoordinator } from '../../src/application/coordinator/leased-coordinator.js';
import type { Clock } from '../../src/application/ports/clock.js';
import type { LeaseTimings } from '../../src/domain/coordinator/lease.js';
import { RecordingLogger } from '../cluster/support/test-logger.js';
import { waitFor } from '../support/wait.js';
import { clusterYaml, FAST_SETTINGS } from './support/coordinator-harness.js';
import { FakeStorageNode } from './support/fake-storage-node.js';

/** The system clock, whose readings can jump forward as a frozen process's do when it resumes; its timers do not notice. */
class ResumableClock implements Clock {
  private readonly inner = new SystemClock({ unrefTimers: false });
  frozenMs = 0;
  nowMs(): number {
    return this.inner.nowMs() + this.frozenMs;
  }
  monotonicMs(): number {
    return this.inner.monotonicMs() + this.frozenMs;
  }
  schedule(delayMs: number, fn: () => void): () => void {
    return this.inner.schedule(delayMs, fn);
  }
}

const MUTATIONS = ['newTerm', 'becomeLeader', 'addFollower', 'deleteShard'];

class Rig {
  readonly dir = mkdtempSync(join(tmpdir(), 'oxia-leased-'));
  readonly log = new RecordingLogger();
  readonly clock = new ResumableClock();
  readonly statusPath = join(this.dir, 'cluster-status.json');
  readonly leaseDir = `${this.statusPath}.lease`;
  private readonly closers: (() => Promise<void>)[] = [];

  constructor(readonly nodes: FakeStorageNode[]) {
    const temp = join(this.dir, 'cluster.yaml.tmp');
    writeFileSync(temp, clusterYaml([{ name: 'default', shards: 2, rf: 3 }], nodes.map((n) => n.address)));
    renameSync(temp, join(this.dir, 'cluster.yaml'));
  }

  coordinator(holder: string, timings: LeaseTimings): LeasedCoordinator {
    const log = this.log.child({ holder });
    const store = new FileClusterStatusStore({ path: this.statusPath, syncData: false }, log);
    const config = new FileClusterConfigSource({ path: join(this.dir, 'cluster.yaml'), serversRequired: true, pollIntervalMs: 100 }, log);
    const discovery = new StaticNodeDiscovery(config, log);
    const client = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
    const leased = new LeasedCoordinator(
      store,
      new FileLeaseStore({ dir: this.leaseDir }, log),
      config,
      discovery,
      client,
      this.clock,
      log,
      new PromMetrics(),
      FAST_SETTINGS,
      { holder, timings },
    );
    this.closers.push(async () => {
      await leased.close();
      await discovery.close();
      await config.close();
      await client.close();
      await store.close();
    });
    return leased;
  }

  mutations(): number {
    return this.nodes.reduce((sum, n) => sum + MUTATIONS.reduce((s, m) => s + n.callsOf(m).length, 0), 0);
  }

  /** Both shards elected, as stored. */
  steady(): boolean {
    try {
      return (readFileSync(this.statusPath, 'utf8').match(/"SteadyState"/g) ?? []).length === 2;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    for (const c of this.closers.splice(0)) await c().catch(() => undefined);
    for (const n of this.nodes) n.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function startNodes(count: number): Promise<FakeStorageNode[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => new FakeStorageNode(`node${i}`).start()));
}

test('standing by, a coordinator sends nothing to any node; once the lease is its own it acts', async () => {
  const rig = new Rig(await startNodes(3));
  try {
    // Another coordinator holds the lease and renews it (the test plays it).
    const other = new FileLeaseStore({ dir: rig.leaseDir }, rig.log);
    const record = { holder: 'other', durationMs: 1_000, acquiredAtMs: Date.now(), renewedAtMs: Date.now(), transitions: 0 };
    let version = await other.write(record, undefined, 1_000);
    const standby = rig.coordinator('standby', { durationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 100 });
    await standby.start();
    for (let i = 0; i < 10; i++) {
      await waitFor(() => rig.log.messages().includes('standing by: another coordinator holds the lease'), 'standing by');
      version = await other.write({ ...record, renewedAtMs: Date.now() }, version, 1_000);
      assert.not.ok(standby.leading);
      assert.is(rig.mutations(), 0, 'no NewTerm, BecomeLeader, AddFollower or DeleteShard');
      assert.ok(rig.nodes.every((n) => n.calls.length === 0 && n.assignments.length === 0), 'not even a status request or assignments');
      assert.is(standby.current, undefined);
    }
    // The other one stops renewing: the lease lapses and the standby takes over.
    await waitFor(() => standby.leading, 'the standby leads', 15_000);
    await waitFor(() => rig.steady(), 'it elected every shard', 15_000);
    assert.ok(rig.mutations() > 0);
  } finally {
    await rig.close();
  }
});

test('a coordinator whose lease lapsed while it was frozen refuses, at once, everything that would change a node or the status', async () => {
  const rig = new Rig(await startNodes(3));
  try {
    // Renewals 10 s apart: none will come to the rescue during the test, and no timer of the lease fires.
    const leased = rig.coordinator('frozen', { durationMs: 60_000, renewDeadlineMs: 30_000, retryPeriodMs: 10_000 });
    await leased.start();
    await waitFor(() => leased.leading && rig.steady(), 'leading, every shard elected', 15_000);
    const coordinator = leased.current!;
    const statusBefore = readFileSync(rig.statusPath, 'utf8');
    const mutationsBefore = rig.mutations();

    // The process "resumes" 31 s later: past its renew deadline, before any timer has run.
    rig.clock.frozenMs = 31_000;
    assert.not.ok(leased.leading, 'the fence reads the clock, not the timers');
    assert.is(leased.current, coordinator, 'the lease loop has not noticed yet');
    // A leader dies meanwhile: the coordinator would elect.
    const leaderOfShard0 = coordinator.status().namespaces.get('default')!.shards.get(0n)!.leader!;
    rig.nodes.find((n) => n.address.internal === leaderOfShard0.internal)!.stop();
    await waitFor(() => rig.log.messages().includes('refusing to act: this coordinator no longer holds the coordinator lease'), 'the fence refused', 15_000);
    assert.is(rig.mutations(), mutationsBefore, 'no NewTerm, BecomeLeader, AddFollower or DeleteShard reached a node');
    assert.is(readFileSync(rig.statusPath, 'utf8'), statusBefore, 'the status was not written');
  } finally {
    await rig.close();
  }
});

test.run();
