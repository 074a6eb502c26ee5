// A replicated cluster of real processes for end-to-end tests: N `oxia-ts server` and an
// `oxia-ts coordinator` on loopback, every port 0 (the servers' bound addresses are read from
// their "serving" lines and written into the cluster config), a file status store, all data in
// a temp dir. Every child is SIGKILLed when the test process exits, also when a test fails, and
// the temp dir is removed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchRole, type RoleProcess } from '../../src/bootstrap/dev-cluster/role-process.js';
import type { ClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import { decodeStoredClusterStatus } from '../../src/domain/cluster/cluster-status-codec.js';
import { RawOxiaClient, type ShardInfo } from './raw-client.js';
import { waitFor } from './wait.js';

/** Starting includes tsx compiling the sources, several processes at once on 2 cores. */
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;

export interface NamespaceSpec {
  readonly name: string;
  readonly shards: number;
  readonly rf: number;
}

export interface TestClusterOptions {
  readonly nodes?: number;
  readonly namespaces?: readonly NamespaceSpec[];
  readonly kv?: 'sqlite' | 'level';
  /** More server flags, e.g. ['--wal-sync-data=false']. */
  readonly serverArgs?: readonly string[];
  /** More coordinator flags (later flags win). */
  readonly coordinatorArgs?: readonly string[];
  /** Leave the coordinator to the test. */
  readonly withoutCoordinator?: boolean;
  /** More cluster config, appended as written (e.g. a `loadBalancer:` section). */
  readonly configExtra?: string;
  /** The coordinator's default health checks, instead of the tests' more lenient ones. */
  readonly defaultHealthChecks?: boolean;
  /** Where a node keeps db/ and wal/ instead of the cluster's temp dir, by node name (e.g. a small filesystem). */
  readonly nodeRoots?: Readonly<Record<string, string>>;
}

const ownedDirs = new Set<string>();
process.on('exit', () => {
  for (const d of ownedDirs) rmSync(d, { recursive: true, force: true });
});

export class ClusterNode {
  /**
   * The internal address written into the cluster config: what the coordinator and the other
   * nodes dial. The bound address unless a test routes it through something (a TCP proxy).
   */
  configInternalAddress: string;

  constructor(
    readonly name: string,
    private proc: RoleProcess,
    private readonly args: readonly string[],
    readonly publicAddress: string,
    readonly internalAddress: string,
    private readonly logFile: string,
  ) {
    this.configInternalAddress = internalAddress;
  }

  get process(): RoleProcess {
    return this.proc;
  }

  get running(): boolean {
    return this.proc.running;
  }

  async kill9(): Promise<void> {
    await this.proc.kill9();
  }

  /** SIGSTOP: the process stops without closing anything (as a stuck VM or a long GC pause). */
  freeze(): void {
    this.proc.signal('SIGSTOP');
  }

  /** SIGCONT after freeze(). */
  thaw(): void {
    this.proc.signal('SIGCONT');
  }

  async stop(): Promise<void> {
    await this.proc.stop(STOP_TIMEOUT_MS);
  }

  /** Starts again on the same ports and data (after kill9 or stop). */
  async restart(): Promise<void> {
    if (this.proc.running) await this.stop();
    const ports = ['--public-addr', this.publicAddress, '--internal-addr', this.internalAddress];
    this.proc = await launchRole({ name: this.name, args: [...this.args, ...ports], logFile: this.logFile, startTimeoutMs: START_TIMEOUT_MS });
  }
}

export class TestCluster {
  readonly clients = new Map<string, RawOxiaClient>();
  readonly coordinators: RoleProcess[] = [];

  private constructor(
    readonly dir: string,
    readonly nodes: ClusterNode[],
    private declared: readonly NamespaceSpec[],
    private readonly coordinatorArgs: readonly string[],
    private readonly configExtra: string,
  ) {}

  /** The namespaces of the config as last written. */
  get namespaces(): readonly NamespaceSpec[] {
    return this.declared;
  }

  get configPath(): string {
    return join(this.dir, 'cluster.yaml');
  }

  get statusPath(): string {
    return join(this.dir, 'cluster-status.json');
  }

  /** The coordinator started last. */
  get coordinator(): RoleProcess {
    const c = this.coordinators.at(-1);
    if (!c) throw new Error('no coordinator was started');
    return c;
  }

  static async start(options: TestClusterOptions = {}): Promise<TestCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'oxia-cluster-'));
    ownedDirs.add(dir);
    const count = options.nodes ?? 3;
    const namespaces = options.namespaces ?? [{ name: 'default', shards: 3, rf: Math.min(3, count) }];
    const nodes = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const name = `node-${i}`;
        const root = options.nodeRoots?.[name] ?? join(dir, name);
        const args = [
          'server',
          '--metrics-addr', '127.0.0.1:0',
          '--data-dir', join(root, 'db'),
          '--wal-dir', join(root, 'wal'),
          '--kv', options.kv ?? 'sqlite',
          ...(options.serverArgs ?? []),
        ];
        const logFile = join(dir, `${name}.log`);
        const proc = await launchRole({
          name,
          args: [...args, '--public-addr', '127.0.0.1:0', '--internal-addr', '127.0.0.1:0'],
          logFile,
          startTimeoutMs: START_TIMEOUT_MS,
        });
        return new ClusterNode(name, proc, args, String(proc.serving.publicAddress), String(proc.serving.internalAddress), logFile);
      }),
    );
    const coordinatorArgs = [
      'coordinator',
      '--conf', join(dir, 'cluster.yaml'),
      '--file-clusters-status-path', join(dir, 'cluster-status.json'),
      '--internal-addr', '127.0.0.1:0',
      '--public-addr', '127.0.0.1:0',
      '--metrics-addr', '127.0.0.1:0',
      // More lenient than the defaults (a node is down after 2 s without answering rather than
      // 1 s), for tests that run beside others on a loaded machine; crashes are noticed at once
      // anyway (the health watch breaks and the node refuses connections).
      ...(options.defaultHealthChecks ? [] : ['--health-check-interval', '500ms', '--health-check-timeout', '2s']),
      ...(options.coordinatorArgs ?? []),
    ];
    const cluster = new TestCluster(dir, nodes, namespaces, coordinatorArgs, options.configExtra ?? '');
    cluster.writeConfig(namespaces, nodes);
    if (!options.withoutCoordinator) await cluster.startCoordinator();
    return cluster;
  }

  /** Rewrites the cluster config (atomically, as editors and ConfigMap volumes do). */
  writeConfig(namespaces: readonly NamespaceSpec[], nodes: readonly ClusterNode[] = this.nodes): void {
    this.declared = namespaces;
    const ns = namespaces.map((n) => `  - name: ${n.name}\n    initialShardCount: ${n.shards}\n    replicationFactor: ${n.rf}\n`).join('');
    const servers = nodes.map((n) => `  - name: ${n.name}\n    public: "${n.publicAddress}"\n    internal: "${n.configInternalAddress}"\n`).join('');
    const temp = `${this.configPath}.tmp`;
    writeFileSync(temp, `namespaces:\n${ns}servers:\n${servers}${this.configExtra}`);
    renameSync(temp, this.configPath);
  }

  /** Starts a coordinator and waits for its "serving" line (rejects if it exits first). */
  async startCoordinator(): Promise<RoleProcess> {
    const name = `coordinator-${this.coordinators.length}`;
    const proc = await launchRole({ name, args: this.coordinatorArgs, logFile: join(this.dir, `${name}.log`), startTimeoutMs: START_TIMEOUT_MS });
    this.coordinators.push(proc);
    return proc;
  }

  /**
   * The running coordinator that holds the lease and has taken charge (claimed the status and
   * reconciled it once): a coordinator started after a kill -9 first waits for its
   * predecessor's lease to lapse, and a standby answers no admin call.
   */
  async actingCoordinator(timeoutMs = 30_000): Promise<RoleProcess> {
    let acting: RoleProcess | undefined;
    await waitFor(
      () => {
        acting = this.coordinators.find((c) => {
          if (!c.running) return false;
          const lines = c.lines();
          const last = (msg: string): number => lines.reduce((at, l, i) => (l.includes(`"msg":"${msg}"`) ? i : at), -1);
          const inCharge = last('this coordinator is in charge');
          return inCharge >= 0 && inCharge > last('standing by again');
        });
        return acting !== undefined;
      },
      'a coordinator in charge',
      timeoutMs,
    );
    return acting!;
  }

  readStatus(): ClusterStatus {
    return decodeStoredClusterStatus(readFileSync(this.statusPath, 'utf8')).status;
  }

  client(address: string): RawOxiaClient {
    let c = this.clients.get(address);
    if (!c) {
      c = new RawOxiaClient(address);
      this.clients.set(address, c);
    }
    return c;
  }

  /**
   * The shards of `namespace` as a running node hands them out, once every shard has a leader
   * that is running (and not one of `notLeaders`).
   */
  async leaders(namespace = 'default', notLeaders: readonly string[] = [], timeoutMs = 60_000): Promise<ShardInfo[]> {
    const expected = this.namespaces.find((n) => n.name === namespace)?.shards;
    let result: ShardInfo[] = [];
    await waitFor(
      async () => {
        const live = this.nodes.filter((n) => n.running);
        for (const node of live) {
          try {
            const shards = await withTimeout(this.client(node.publicAddress).shards(namespace), 2_000);
            const runningPublic = new Set(live.map((n) => n.publicAddress));
            if (
              (expected === undefined || shards.length === expected) &&
              shards.every((s) => s.leader !== '' && runningPublic.has(s.leader) && !notLeaders.includes(s.leader))
            ) {
              result = shards;
              return true;
            }
          } catch {
            // that node is not answering: ask the next
          }
        }
        return false;
      },
      `leaders for every shard of ${namespace}`,
      timeoutMs,
      100,
    );
    return result;
  }

  nodeByPublic(address: string): ClusterNode {
    const n = this.nodes.find((x) => x.publicAddress === address);
    if (!n) throw new Error(`no node with public address ${address}`);
    return n;
  }

  /** All output of every process, for failure messages. */
  logs(): string {
    return [...this.nodes.map((n) => n.process), ...this.coordinators].map((p) => `--- ${p.name} ---\n${p.lines().slice(-80).join('\n')}`).join('\n');
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    await Promise.all([...this.coordinators.map((c) => c.kill9()), ...this.nodes.map((n) => n.kill9())]);
    rmSync(this.dir, { recursive: true, force: true });
    ownedDirs.delete(this.dir);
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms))),
  ]);
}
