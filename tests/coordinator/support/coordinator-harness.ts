// Runs the real Coordinator in this process against FakeStorageNodes, with the real adapters
// around it: the file status store, the file config source with static discovery, the grpc-js
// storage node client, the system clock. Settings are fast so that failures are seen quickly.
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../../src/adapters/clock/system-clock.js';
import { FileClusterConfigSource } from '../../../src/adapters/cluster-config/file-cluster-config-source.js';
import { GrpcStorageNodeClient } from '../../../src/adapters/coordination-client/grpc-storage-node-client.js';
import { PLAINTEXT } from '../../../src/adapters/tls/grpc-channel-credentials.js';
import { StaticNodeDiscovery } from '../../../src/adapters/discovery-static/static-node-discovery.js';
import { PromMetrics } from '../../../src/adapters/metrics/prom-metrics.js';
import { FileClusterStatusStore } from '../../../src/adapters/status-file/file-cluster-status-store.js';
import { Coordinator } from '../../../src/application/coordinator/coordinator.js';
import type { CoordinatorSettings } from '../../../src/application/coordinator/coordinator-settings.js';
import type { ClusterStatus } from '../../../src/domain/cluster/cluster-status.js';
import type { NodeAddress } from '../../../src/domain/cluster/node-address.js';
import { RecordingLogger } from '../../cluster/support/test-logger.js';

export const FAST_SETTINGS: CoordinatorSettings = {
  healthCheckIntervalMs: 100,
  healthCheckTimeoutMs: 500,
  healthCheckFailureThreshold: 3,
  fencingGracePeriodMs: 50,
  electionRetry: { initialMs: 50, multiplier: 1.5, maxMs: 500, jitter: 0.2 },
  followerRetry: { initialMs: 50, multiplier: 1.5, maxMs: 500, jitter: 0.2 },
  streamRetry: { initialMs: 50, multiplier: 2, maxMs: 500, jitter: 0.2 },
  ownershipCheckIntervalMs: 200,
  leaderRebalanceStableMs: 300,
  splitTimeoutMs: 60_000,
};

export interface NamespaceSpec {
  name: string;
  shards: number;
  rf: number;
}

export function clusterYaml(namespaces: readonly NamespaceSpec[], servers: readonly NodeAddress[], extra = ''): string {
  const ns = namespaces.map((n) => `  - name: ${n.name}\n    initialShardCount: ${n.shards}\n    replicationFactor: ${n.rf}\n`).join('');
  const sv = servers.map((s) => `  - public: "${s.public}"\n    internal: "${s.internal}"\n${s.name ? `    name: ${s.name}\n` : ''}`).join('');
  return `namespaces:\n${ns || '  []\n'}servers:\n${sv}${extra}`;
}

export class CoordinatorHarness {
  readonly dir: string;
  readonly configPath: string;
  readonly statusPath: string;
  readonly logger = new RecordingLogger();
  private readonly running: { coordinator: Coordinator; close: () => Promise<void> }[] = [];

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'oxia-coordinator-'));
    this.configPath = join(this.dir, 'cluster.yaml');
    this.statusPath = join(this.dir, 'cluster-status.json');
  }

  /** Replaces the config file atomically (as editors and ConfigMap volumes do). */
  writeConfig(namespaces: readonly NamespaceSpec[], servers: readonly NodeAddress[], extra = ''): void {
    const temp = `${this.configPath}.tmp`;
    writeFileSync(temp, clusterYaml(namespaces, servers, extra));
    renameSync(temp, this.configPath);
  }

  /** A new coordinator on the same files; resolves once it started (or rejects as its start does). */
  async startCoordinator(settings: CoordinatorSettings = FAST_SETTINGS): Promise<Coordinator> {
    const logger = this.logger.child({ coordinator: this.running.length });
    const store = new FileClusterStatusStore({ path: this.statusPath, syncData: false }, logger);
    const config = new FileClusterConfigSource({ path: this.configPath, serversRequired: true, pollIntervalMs: 100 }, logger);
    const discovery = new StaticNodeDiscovery(config, logger);
    const client = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
    const coordinator = new Coordinator(store, config, discovery, client, new SystemClock({ unrefTimers: false }), logger, new PromMetrics(), settings);
    const close = async (): Promise<void> => {
      await coordinator.close();
      await discovery.close();
      await config.close();
      await client.close();
      await store.close();
    };
    this.running.push({ coordinator, close });
    try {
      // The process around a Coordinator starts these (a standby keeps them current).
      await config.start();
      await discovery.start();
      await coordinator.start();
    } catch (e) {
      await close();
      throw e;
    }
    return coordinator;
  }

  async stopCoordinator(c: Coordinator): Promise<void> {
    const entry = this.running.find((r) => r.coordinator === c);
    if (!entry) return;
    this.running.splice(this.running.indexOf(entry), 1);
    await entry.close();
  }

  async close(): Promise<void> {
    for (const r of this.running.splice(0)) await r.close().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function shardOf(status: ClusterStatus, namespace: string, shard: bigint) {
  const s = status.namespaces.get(namespace)?.shards.get(shard);
  if (!s) throw new Error(`no shard ${namespace}/${shard}`);
  return s;
}
