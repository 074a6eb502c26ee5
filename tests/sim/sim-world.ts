import { Coordinator } from '../../src/application/coordinator/coordinator.js';
import { DEFAULT_COORDINATOR_SETTINGS, type CoordinatorSettings } from '../../src/application/coordinator/coordinator-settings.js';
import { StorageNode } from '../../src/application/node/storage-node.js';
import { SeededRandom } from '../../src/adapters/simulation/seeded-random.js';
import { FixedClusterConfig, FixedNodeDiscovery, SimStatusStorage } from '../../src/adapters/simulation/sim-cluster-metadata.js';
import { type DiskFaults, SimDisk } from '../../src/adapters/simulation/sim-disk.js';
import { type NetworkFaults, SimNetwork } from '../../src/adapters/simulation/sim-network.js';
import { DiscardedMetrics, SimHealth, SimLog } from '../../src/adapters/simulation/sim-process-kit.js';
import { Incarnation, VirtualClock, VirtualScheduler } from '../../src/adapters/simulation/virtual-time.js';
import { DEFAULT_AUTO_SPLIT, DEFAULT_LOAD_BALANCER, type ClusterConfig } from '../../src/domain/cluster/cluster-config.js';
import type { NodeAddress } from '../../src/domain/cluster/node-address.js';
import type { ShardRef } from '../../src/application/ports/shard-ref.js';
import type { LogEntry } from '../../src/domain/wal/log-entry.js';
import { DEFAULT_REQUEST_LIMITS } from '../../src/domain/database/limits.js';
import { fencedLeaderReads } from './fenced-leader-reads.js';
import { MemoryShardTombstones } from '../support/memory-shard-tombstones.js';

export const NAMESPACE = 'default';
export const COORDINATOR = 'coordinator';

export interface WorldOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly shards: number;
  readonly disk: DiskFaults;
  readonly network: NetworkFaults;
  readonly debugLog?: boolean;
  /** How fast the first node's clock runs (1: exact). The defect `slow-clock` slows it far past any drift bound. */
  readonly firstNodeClockRate?: number;
  /** The defect fenced-leader-reads (tests/sim/fenced-leader-reads.ts). */
  readonly fencedLeaderReads?: boolean;
}

interface NodeProcess {
  readonly address: NodeAddress;
  readonly disk: SimDisk;
  /** Deleted shards, kept across the node's restarts as a real node's file keeps them. */
  readonly tombstones: MemoryShardTombstones;
  /** The source each incarnation's own generator is forked from. */
  readonly random: SeededRandom;
  life: Incarnation | undefined;
  /** The running incarnation's whole-node health (what the coordinator watches). */
  health: SimHealth | undefined;
  restarts: number;
}

/** Faster than the defaults so that a run sees many elections, but with the defaults' shape. */
const SIM_COORDINATOR_SETTINGS: CoordinatorSettings = {
  ...DEFAULT_COORDINATOR_SETTINGS,
  ownershipCheckIntervalMs: 2_000,
  leaderRebalanceStableMs: 5_000,
  followerRetry: { initialMs: 200, multiplier: 1.5, maxMs: 2_000, jitter: 0.5 },
};

/**
 * A whole cluster in one process on simulated time: storage nodes (the real StorageNode
 * with its shard controllers) on simulated disks, the real Coordinator on a simulated
 * status store, all talking through the simulated network. Processes crash and restart;
 * machines lose power; links part and heal.
 */
export class SimWorld {
  readonly scheduler = new VirtualScheduler();
  readonly random: SeededRandom;
  readonly network: SimNetwork;
  readonly status = new SimStatusStorage();
  readonly log: SimLog;
  readonly nodes: NodeProcess[] = [];
  private coordinatorLife: Incarnation | undefined;
  private coordinator: Coordinator | undefined;
  private readonly config: ClusterConfig;
  private readonly coordinatorRandom: SeededRandom;

  constructor(
    readonly options: WorldOptions,
    onAppend: (node: string, shard: ShardRef, entries: readonly LogEntry[]) => void = () => undefined,
  ) {
    this.random = new SeededRandom(options.seed);
    this.log = new SimLog(() => this.scheduler.now(), 3_000, options.debugLog ?? false);
    this.network = new SimNetwork(this.scheduler, this.random.fork(), options.network);
    this.coordinatorRandom = this.random.fork();
    for (let i = 1; i <= options.nodes; i++) {
      const address = { name: `n${i}`, public: `n${i}:6648`, internal: `n${i}:6649` };
      const disk = new SimDisk(`n${i}`, this.random.fork(), options.disk, (shard, entries) => onAppend(`n${i}`, shard, entries));
      this.nodes.push({ address, disk, tombstones: new MemoryShardTombstones(), random: this.random.fork(), life: undefined, health: undefined, restarts: 0 });
    }
    this.config = {
      namespaces: [
        {
          name: NAMESPACE,
          initialShardCount: options.shards,
          replicationFactor: Math.min(3, options.nodes),
          notificationsEnabled: true,
          keySorting: 'hierarchical',
          antiAffinities: [],
        },
      ],
      servers: this.nodes.map((n) => n.address),
      allowExtraAuthorities: [],
      serverMetadata: new Map(),
      loadBalancer: DEFAULT_LOAD_BALANCER,
      autoSplit: DEFAULT_AUTO_SPLIT,
    };
  }

  async start(): Promise<void> {
    for (const n of this.nodes) this.startNode(n);
    await this.startCoordinator();
  }

  startNode(n: NodeProcess): void {
    if (n.life?.alive) return;
    const name = `${n.address.name}#${n.restarts++}`;
    const life = new Incarnation(name);
    n.life = life;
    const health = new SimHealth();
    n.health = health;
    const rate = n === this.nodes[0] ? (this.options.firstNodeClockRate ?? 1) : 1;
    const clock = new VirtualClock(this.scheduler, life, rate);
    const node = new StorageNode(
      { limits: DEFAULT_REQUEST_LIMITS, walRetentionMs: 3_600_000, notificationsRetentionMs: 3_600_000, retentionCheckIntervalMs: 60_000 },
      n.disk.walFactory(life, clock),
      n.disk.kvFactory(life),
      this.network.replicationClient(n.address.internal, life),
      clock,
      this.log.logger(name),
      new DiscardedMetrics(),
      health,
      n.disk.storageProbe(life),
      n.tombstones,
      n.random.fork().next,
    );
    node.start();
    const client = this.options.fencedLeaderReads ? fencedLeaderReads(node, n.disk, NAMESPACE, this.config.namespaces[0]?.keySorting ?? 'hierarchical') : node;
    this.network.attach(n.address.internal, life, { coordination: node, replication: node, client, health });
  }

  /** The process dies (SIGKILL); with `powerLoss` the machine too, taking unsynced writes with it. */
  crashNode(n: NodeProcess, powerLoss: boolean): void {
    if (!n.life?.alive) return;
    n.life.end();
    this.network.detach(n.address.internal);
    if (powerLoss) n.disk.powerLoss();
  }

  async startCoordinator(): Promise<void> {
    if (this.coordinatorLife?.alive) return;
    const life = new Incarnation(COORDINATOR);
    this.coordinatorLife = life;
    const coordinator = new Coordinator(
      this.status.handle(life),
      new FixedClusterConfig(this.config),
      new FixedNodeDiscovery(this.config.servers),
      this.network.storageNodeClient(COORDINATOR, life),
      new VirtualClock(this.scheduler, life),
      this.log.logger(COORDINATOR),
      new DiscardedMetrics(),
      SIM_COORDINATOR_SETTINGS,
      undefined,
      this.coordinatorRandom.next,
    );
    this.coordinator = coordinator;
    // Its start talks to nodes, which takes simulated time: the caller runs the world meanwhile.
    coordinator.start().catch((e: unknown) => {
      if (life.alive) this.log.add('error', 'coordinator failed to start', { error: String(e) });
    });
  }

  crashCoordinator(): void {
    if (!this.coordinatorLife?.alive) return;
    this.coordinatorLife.end();
    this.network.detach(COORDINATOR);
    this.coordinator = undefined;
  }

  get coordinatorAlive(): boolean {
    return this.coordinatorLife?.alive ?? false;
  }

  /** Lets every process run until simulated time reaches `untilMs` (or nothing is left to do). */
  async runUntil(untilMs: number, stop?: () => boolean): Promise<void> {
    for (;;) {
      await settle();
      if (stop?.()) return;
      if (!this.scheduler.runNext(untilMs)) {
        this.scheduler.advanceTo(untilMs);
        return;
      }
    }
  }

  async runFor(ms: number, stop?: () => boolean): Promise<void> {
    await this.runUntil(this.scheduler.now() + ms, stop);
  }

  now(): number {
    return this.scheduler.now();
  }
}

/** Lets promise chains and immediates run until the process has nothing left but timers. */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
