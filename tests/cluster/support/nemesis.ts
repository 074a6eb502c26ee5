// Jepsen-style runs against real processes: a cluster of `oxia-ts` storage nodes and a
// coordinator, every node's internal port behind a TCP proxy (tests/support/tcp-proxy.ts),
// closed-loop callers recording a history (ConflictLoad, HistoryRecorder), and a nemesis
// that, on a schedule drawn from a seed, freezes a shard leader (SIGSTOP/SIGCONT), parts a
// leader or a minority of nodes from the rest, kills a leader (SIGKILL) and restarts it, or kills
// the coordinator (alone, or with a leader) and starts a new one.
// At the end everything is healed, every key read back, and the history judged.
//
// Routing: the cluster config gives each node one internal address, which the coordinator and
// every other node dial alike. So each node's internal port has one proxy, and the proxy tells
// the links apart by who opened the connection (connection-source.ts: the owner of the socket,
// one of our child processes). A partition between groups A and B parts, at the proxy of each
// node of A, the connections from B's processes, and the other way round: replication both
// ways and the coordinator's calls. Clients reach the nodes' public ports directly: a parted
// leader still hears from clients, and must not answer them wrongly.
import { SeededRandom } from '../../../src/adapters/simulation/seeded-random.js';
import type { KvOperation } from '../../sim/kv-history.js';
import { TestCluster, type ClusterNode } from '../../support/cluster.js';
import { RawOxiaClient, type ShardInfo } from '../../support/raw-client.js';
import { judgeHistory } from '../../support/history-checks.js';
import { HistoryRecorder } from '../../support/history-recorder.js';
import { connectionSource } from '../../support/connection-source.js';
import { TcpProxy, type PartitionMode } from '../../support/tcp-proxy.js';
import { waitFor } from '../../support/wait.js';
import { KeyNotFoundError, OxiaClient } from '../../../src/adapters/client/index.js';
import { ConflictLoad } from './conflict-load.js';

export type NemesisKind = 'freeze-leader' | 'isolate-leader' | 'split-minority' | 'kill-leader' | 'kill-coordinator' | 'kill-coordinator-and-leader';
export const NEMESIS_KINDS: readonly NemesisKind[] = [
  'freeze-leader',
  'isolate-leader',
  'split-minority',
  'kill-leader',
  'kill-coordinator',
  'kill-coordinator-and-leader',
];

/** The coordinator's process name as the proxies know it. */
const COORDINATOR = 'coordinator';

/** One fault as drawn from the seed; whom it hits is decided when it happens (who leads then). */
export interface NemesisStep {
  readonly kind: NemesisKind;
  /** Which shard's leader (index into the shards, modulo), or where the minority starts for split-minority. */
  readonly pick: number;
  readonly mode: PartitionMode;
  /** split-minority: the coordinator is on the minority's side (else the majority's). */
  readonly coordinatorWithMinority: boolean;
  readonly holdMs: number;
  /** Quiet time after the cluster recovered, before the next fault. */
  readonly gapMs: number;
}

export interface NemesisRunOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly shards: number;
  /** Every kind this many times, in an order drawn from the seed; or `steps` drawn at random. */
  readonly eachKind?: number;
  readonly steps?: number;
  readonly holdMs: readonly [number, number];
  readonly gapMs: readonly [number, number];
  readonly callers: number;
  readonly keys: number;
  readonly requestTimeoutMs: number;
  readonly thinkMsMax: number;
  /** The coordinator's default health checks (a node is down after 1 s), not the tests' lenient ones (2 s). */
  readonly defaultHealthChecks?: boolean;
  /** How a failing run is replayed (printed with the seed). */
  readonly replay: string;
  readonly log?: (line: string) => void;
}

export interface NemesisRunResult {
  readonly seed: number;
  readonly problems: string[];
  readonly operations: number;
  readonly unknown: number;
  readonly events: readonly string[];
  /** Wall time of the run and of the checks, ms. */
  readonly runMs: number;
  readonly checkMs: number;
}

/** The schedule of a seed: the same seed gives the same faults, durations and picks. */
export function nemesisSchedule(random: SeededRandom, options: Pick<NemesisRunOptions, 'eachKind' | 'steps' | 'holdMs' | 'gapMs'>): NemesisStep[] {
  const kinds: NemesisKind[] = [];
  if (options.eachKind !== undefined) {
    for (let i = 0; i < options.eachKind; i++) kinds.push(...NEMESIS_KINDS);
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = random.int(i + 1);
      [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
    }
  } else {
    for (let i = 0; i < (options.steps ?? 0); i++) kinds.push(random.pick(NEMESIS_KINDS));
  }
  return kinds.map((kind) => ({
    kind,
    pick: random.int(1_000),
    mode: random.chance(0.5) ? 'refuse' : 'blackhole',
    coordinatorWithMinority: random.chance(0.25),
    holdMs: random.between(options.holdMs[0], options.holdMs[1]),
    gapMs: random.between(options.gapMs[0], options.gapMs[1]),
  }));
}

/** Runs one seed end to end; the cluster is gone when it returns. */
export async function runNemesis(options: NemesisRunOptions): Promise<NemesisRunResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const random = new SeededRandom(options.seed);
  const schedule = nemesisSchedule(random.fork(), options);
  const loadRandom = random.fork();
  log(`nemesis seed ${options.seed} (replay: ${options.replay}): ${schedule.map((s) => s.kind).join(', ')}`);

  const cluster = await TestCluster.start({
    nodes: options.nodes,
    namespaces: [{ name: 'default', shards: options.shards, rf: 3 }],
    withoutCoordinator: true,
    defaultHealthChecks: options.defaultHealthChecks ?? false,
  });
  const proxies = new Map<ClusterNode, TcpProxy>();
  const recorder = new HistoryRecorder();
  const events: string[] = [];
  const event = (line: string): void => {
    const stamped = `[${(recorder.now() / 1000).toFixed(3)} s] ${line}`;
    events.push(stamped);
    log(`  ${stamped}`);
  };
  let load: ConflictLoad | undefined;
  try {
    // The processes the proxies tell apart, by pid as they are now (a restart changes it).
    const processes = (): Map<string, number> => {
      const m = new Map<string, number>();
      for (const n of cluster.nodes) if (n.running && n.process.pid !== undefined) m.set(n.name, n.process.pid);
      for (const c of cluster.coordinators) if (c.running && c.pid !== undefined) m.set(COORDINATOR, c.pid);
      return m;
    };
    for (const node of cluster.nodes) {
      const proxy: TcpProxy = await TcpProxy.start(node.internalAddress, (socket) => connectionSource(socket.remotePort!, proxy.port, processes()));
      proxies.set(node, proxy);
      node.configInternalAddress = proxy.address;
    }
    cluster.writeConfig(cluster.namespaces);
    await cluster.startCoordinator();
    const shards = await cluster.leaders('default', [], 90_000);
    const keys = Array.from({ length: options.keys }, (_, i) => `/nemesis/k${i}`);
    load = await ConflictLoad.start(recorder, {
      serviceAddresses: cluster.nodes.map((n) => n.publicAddress),
      shards,
      callers: options.callers,
      keys,
      requestTimeoutMs: options.requestTimeoutMs,
      thinkMsMax: options.thinkMsMax,
      random: loadRandom,
    });
    const running = load;
    await waitFor(() => running.answered >= options.callers * 5, 'the callers under way', 60_000);

    for (const step of schedule) {
      await applyStep(cluster, proxies, step, event);
      await recovered(cluster, event);
      const answered = load.answered;
      await waitFor(() => running.answered > answered + options.callers, 'the callers making progress again', 60_000);
      await pause(step.gapMs);
    }
    await load.stop();
    load = undefined;

    healEverything(cluster, proxies);
    await restartDead(cluster);
    await cluster.leaders('default', [], 90_000);
    const finalReads = await readBack(cluster, recorder, keys, shards);
    const runMs = Date.now() - started;
    const checkStarted = Date.now();
    const operations = recorder.operations();
    const problems = judgeHistory({ operations, toCheck: recorder.historyToCheck(), finalReads });
    problems.push(...unidentifiedConnections(proxies, log));
    // For the record, not a failure: whether the history needs the retry shadows at all, that
    // is whether a write the client library resent was seen applied twice.
    const bare = judgeHistory({ operations, toCheck: operations, finalReads });
    log(`  without retry shadows: ${bare.length === 0 ? 'linearizable too' : `a resent write was seen applied twice? ${bare.join('\n')}`}`);
    const checkMs = Date.now() - checkStarted;
    const unknown = operations.filter((op) => op.output.type === 'unknown').length;
    const outcomes = new Map<string, number>();
    for (const op of operations) outcomes.set(`${op.input.type} ${op.output.type}`, (outcomes.get(`${op.input.type} ${op.output.type}`) ?? 0) + 1);
    log(`  outcomes: ${[...outcomes].sort().map(([k, n]) => `${k} ${n}`).join(', ')}`);
    log(`nemesis seed ${options.seed}: ${operations.length} operations (${unknown} indeterminate), run ${(runMs / 1000).toFixed(1)} s, checked in ${checkMs} ms: ${problems.length === 0 ? 'linearizable, no write lost' : 'FAILED'}`);
    if (problems.length > 0) {
      problems.push(`nemesis events:\n${events.map((e) => `  ${e}`).join('\n')}`, `replay the schedule: ${options.replay}`);
    }
    return { seed: options.seed, problems, operations: operations.length, unknown, events, runMs, checkMs };
  } catch (e) {
    throw new Error(`nemesis seed ${options.seed} (replay: ${options.replay}): ${e instanceof Error ? e.message : String(e)}\nevents:\n${events.join('\n')}\n${cluster.logs()}`, { cause: e });
  } finally {
    await load?.stop().catch(() => {});
    healEverything(cluster, proxies);
    for (const proxy of proxies.values()) await proxy.close();
    await cluster.close();
  }
}

async function applyStep(cluster: TestCluster, proxies: ReadonlyMap<ClusterNode, TcpProxy>, step: NemesisStep, event: (line: string) => void): Promise<void> {
  const status = cluster.readStatus().namespaces.get('default')!;
  const shardIds = [...status.shards.keys()].sort((a, b) => (a < b ? -1 : 1));
  const shard = shardIds[step.pick % shardIds.length]!;
  const leaderPublic = status.shards.get(shard)!.leader?.public;
  const leader = leaderPublic !== undefined ? cluster.nodeByPublic(leaderPublic) : undefined;
  const victim = leader ?? cluster.nodes[step.pick % cluster.nodes.length]!;
  const role = victim === leader ? `leader of shard ${shard}` : 'a node';
  switch (step.kind) {
    case 'freeze-leader':
      event(`SIGSTOP ${victim.name} (${role}) for ${step.holdMs} ms`);
      victim.freeze();
      await pause(step.holdMs);
      victim.thaw();
      event(`SIGCONT ${victim.name}`);
      return;
    case 'isolate-leader':
    case 'split-minority': {
      const n = cluster.nodes.length;
      const minority =
        step.kind === 'isolate-leader' ? [victim] : Array.from({ length: Math.floor((n - 1) / 2) }, (_, i) => cluster.nodes[(step.pick + i) % n]!);
      const majority = cluster.nodes.filter((node) => !minority.includes(node));
      const side = (nodes: readonly ClusterNode[], coordinator: boolean): string[] => [...nodes.map((node) => node.name), ...(coordinator ? [COORDINATOR] : [])];
      const withMinority = step.kind === 'split-minority' && step.coordinatorWithMinority;
      const a = side(minority, withMinority);
      const b = side(majority, !withMinority);
      event(`part {${a.join(', ')}} from {${b.join(', ')}} (${step.mode}) for ${step.holdMs} ms${step.kind === 'isolate-leader' ? ` (${victim.name}: ${role})` : ''}`);
      for (const node of minority) proxies.get(node)!.partition(step.mode, b);
      for (const node of majority) proxies.get(node)!.partition(step.mode, a);
      await pause(step.holdMs);
      for (const proxy of proxies.values()) proxy.heal();
      event('heal the partition');
      return;
    }
    case 'kill-leader':
      event(`SIGKILL ${victim.name} (${role}), restart after ${step.holdMs} ms`);
      await victim.kill9();
      await pause(step.holdMs);
      await victim.restart();
      event(`${victim.name} restarted`);
      return;
    case 'kill-coordinator':
    case 'kill-coordinator-and-leader': {
      // The shards keep serving without a coordinator; with the leader gone too, its shard waits
      // for the new coordinator, which first waits for its predecessor's lease to lapse.
      const withLeader = step.kind === 'kill-coordinator-and-leader';
      const coordinator = cluster.coordinator;
      event(`SIGKILL ${coordinator.name}${withLeader ? ` and ${victim.name} (${role})` : ''}, a new coordinator after ${step.holdMs} ms`);
      await coordinator.kill9();
      if (withLeader) await victim.kill9();
      await pause(step.holdMs);
      const next = await cluster.startCoordinator();
      event(`${next.name} started`);
      if (withLeader) {
        await victim.restart();
        event(`${victim.name} restarted`);
      }
      return;
    }
  }
}

/** Every shard has a leader the coordinator chose that is running again. */
async function recovered(cluster: TestCluster, event: (line: string) => void): Promise<void> {
  const shards = await cluster.leaders('default', [], 90_000);
  event(`leaders: ${shards.map((s) => `shard ${s.shard} ${cluster.nodeByPublic(s.leader).name}`).join(', ')}`);
}

/**
 * A partition parts only connections whose source the proxy recognised: if it could not tell
 * who dialled, the partitions were not what the events say. A few may come from a process
 * that died while connecting (SIGKILL); more is a failure of the run, not of the cluster.
 */
function unidentifiedConnections(proxies: ReadonlyMap<ClusterNode, TcpProxy>, log: (line: string) => void): string[] {
  let total = 0;
  let unknown = 0;
  const lines: string[] = [];
  for (const [node, proxy] of proxies) {
    for (const [source, n] of proxy.accepted) {
      total += n;
      if (source === '?') unknown += n;
    }
    lines.push(`${node.name} <- ${[...proxy.accepted].map(([s, n]) => `${s} ${n}`).join(', ')}`);
  }
  log(`  connections through the proxies, by source: ${lines.join('; ')}`);
  return unknown * 10 > total ? [`the proxies could not tell the source of ${unknown} of ${total} connections: partitions were not applied as logged`] : [];
}

function healEverything(cluster: TestCluster, proxies: ReadonlyMap<ClusterNode, TcpProxy>): void {
  for (const proxy of proxies.values()) proxy.heal();
  for (const node of cluster.nodes) node.thaw();
}

async function restartDead(cluster: TestCluster): Promise<void> {
  for (const node of cluster.nodes) if (!node.running) await node.restart();
}

/**
 * One read of every key through a fresh client, recorded (client "final") so that the checker
 * sees it too; a read that fails is tried again until the deadline (the failed ones are dropped).
 */
async function readBack(cluster: TestCluster, recorder: HistoryRecorder, keys: readonly string[], shards: readonly ShardInfo[]): Promise<KvOperation[]> {
  const client = await OxiaClient.connect(cluster.nodes[0]!.publicAddress, { requestTimeoutMs: 10_000, logger: { warn: () => {} } });
  try {
    for (const key of keys) {
      await waitFor(
        async () => {
          const op = recorder.invoke('final', { type: 'get', key }, RawOxiaClient.shardFor([...shards], key));
          try {
            const r = await client.get(key);
            op.complete({ type: 'ok', value: Buffer.from(r.value ?? new Uint8Array()).toString(), versionId: BigInt(r.version.versionId) });
          } catch (e) {
            if (!(e instanceof KeyNotFoundError)) {
              op.fail();
              throw e;
            }
            op.complete({ type: 'not-found' });
          }
          return true;
        },
        `a read of ${key} after the heal`,
        60_000,
        200,
      );
    }
  } finally {
    await client.close();
  }
  return recorder.operations().filter((op) => op.client === 'final');
}

function pause(ms: number): Promise<void> {
  // The length of a fault or of a quiet time, not a wait for anything.
  return new Promise((r) => setTimeout(r, ms));
}
