import { createHash } from 'node:crypto';
import type { ShardRef } from '../../src/application/ports/shard-ref.js';
import type { DiskFaults } from '../../src/adapters/simulation/sim-disk.js';
import type { NetworkFaults } from '../../src/adapters/simulation/sim-network.js';
import type { SeededRandom } from '../../src/adapters/simulation/seeded-random.js';
import { Incarnation } from '../../src/adapters/simulation/virtual-time.js';
import type { LogEntry } from '../../src/domain/wal/log-entry.js';
import { findDefect } from './defects.js';
import { describeOperation, type KvOperation } from './kv-history.js';
import { checkLinearizable } from './linearizability.js';
import { COORDINATOR, NAMESPACE, SimWorld } from './sim-world.js';
import { Workload } from './workload.js';

export interface SimulationOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Client operations in the run (the budget). */
  readonly operations: number;
  readonly defect?: string | undefined;
  /** Keep debug lines in the log shown for a failure. */
  readonly verbose?: boolean;
}

export interface SimulationResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failures: readonly string[];
  readonly operations: number;
  readonly unknown: number;
  readonly simulatedMs: number;
  /** A digest of everything observable about the run: equal for equal seeds. */
  readonly fingerprint: string;
  /** The end of the log, for a failing run. */
  readonly logTail: readonly string[];
}

const BASE_DISK: DiskFaults = { fsyncFailure: 0.001, storeCheckpoint: 0.3 };
const BASE_NETWORK: NetworkFaults = { minDelayMs: 0.1, maxDelayMs: 3, drop: 0.01, duplicate: 0.01 };
/** Beyond this, a run that has not spent its budget is stuck (reported as such). */
const RUN_LIMIT_MS = 300_000;
const HEAL_LIMIT_MS = 60_000;
/** The workload's session timeout (workload.ts), plus the leader's expiry check period. */
const SESSIONS_EXPIRE_MS = 3_000;

/** One seed: a cluster, clients and a nemesis on simulated time, then the checks. */
export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const defect = options.defect ? findDefect(options.defect) : undefined;
  const failures: string[] = [];
  const ledger = new EntryLedger((problem) => failures.push(problem));
  const world = new SimWorld(
    {
      seed: options.seed,
      nodes: options.nodes,
      shards: 2,
      disk: { ...BASE_DISK, ...defect?.disk },
      network: { ...BASE_NETWORK, ...defect?.network },
      debugLog: options.verbose ?? false,
      firstNodeClockRate: defect?.clockRate ?? 1,
      fencedLeaderReads: defect?.fencedLeaderReads ?? false,
    },
    (node, shard, entries) => ledger.appended(node, shard, entries),
  );
  await world.start();
  await world.runFor(10_000, () => allShardsLed(world));

  const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
  const workload = new Workload(world, world.random.fork(), keys, options.operations);
  const nemesis = new Nemesis(world, world.random.fork());
  workload.start(3);
  nemesis.start();
  await world.runFor(RUN_LIMIT_MS, () => workload.finished);
  if (!workload.finished) failures.push(`the clients did not finish their ${options.operations} operations within ${RUN_LIMIT_MS} ms of simulated time`);
  const heartbeatsStoppedMs = world.now();
  nemesis.stop();

  // Heal everything, then read every key until it answers: the final reads are part of the
  // history, so every acknowledged write must show in them (or be overwritten by a later one).
  // Heartbeats stopped with the workload; once the cluster is whole again and every session's
  // timeout has passed twice over, every session must have ended and taken its records.
  await nemesis.healAll();
  await world.runFor(2 * SESSIONS_EXPIRE_MS);
  const sessionsEndedBy = world.now();
  const readerLife = new Incarnation('final-reader');
  const reader = world.random.fork();
  const finalReads: KvOperation[] = [];
  const healDeadline = world.now() + HEAL_LIMIT_MS;
  for (const key of keys) {
    let op: KvOperation | undefined;
    while (!op && world.now() < healDeadline) {
      const pending = workload.perform('final-reader', readerLife, reader, { type: 'get', key });
      let settled = false;
      void pending.then((result) => {
        settled = true;
        op = result;
      });
      await world.runFor(HEAL_LIMIT_MS, () => settled);
      if (!op) await world.runFor(100);
    }
    if (op) finalReads.push(op);
    else failures.push(`key ${key} could not be read within ${HEAL_LIMIT_MS} ms after the cluster healed`);
  }
  const history = [...workload.history, ...workload.sessionEnds(heartbeatsStoppedMs, allShardsLed(world) ? sessionsEndedBy : undefined), ...finalReads];

  const linear = checkLinearizable(history);
  if (linear.gaveUp) {
    failures.push(`the linearizability search gave up on key ${linear.key} (too many writes with unknown outcomes): inconclusive`);
  } else if (!linear.ok) {
    failures.push(`history of key ${linear.key} is not linearizable:\n    ${(linear.operations ?? []).map(describeOperation).join('\n    ')}`);
  }
  failures.push(...versionReuse(history), ...termsGoingBack(world));

  return {
    seed: options.seed,
    ok: failures.length === 0,
    failures,
    operations: history.length,
    unknown: history.filter((op) => op.output.type === 'unknown').length,
    simulatedMs: world.now(),
    fingerprint: fingerprint(history, world),
    logTail: failures.length > 0 ? world.log.tail(options.verbose ? 400 : 60) : [],
  };
}

function allShardsLed(world: SimWorld): boolean {
  const shards = world.status.latest()?.namespaces.get(NAMESPACE)?.shards;
  return shards !== undefined && shards.size > 0 && [...shards.values()].every((s) => s.status === 'SteadyState' && s.leader !== undefined);
}

/**
 * The faults of a run: process crashes (some with the machine's power), partitions of a
 * node or of a link, coordinator crashes, and now and then the whole cluster losing power.
 */
class Nemesis {
  private cancel: (() => void) | undefined;
  private readonly pending: Array<() => void> = [];

  constructor(
    private readonly world: SimWorld,
    private readonly random: SeededRandom,
  ) {}

  start(): void {
    const tick = (): void => {
      this.act();
      this.cancel = this.world.scheduler.schedule(this.random.between(100, 800), tick);
    };
    this.cancel = this.world.scheduler.schedule(this.random.between(100, 800), tick);
  }

  stop(): void {
    this.cancel?.();
  }

  async healAll(): Promise<void> {
    this.world.network.heal();
    for (const undo of this.pending.splice(0)) undo();
    for (const n of this.world.nodes) this.world.startNode(n);
    await this.world.startCoordinator();
    await this.world.runFor(HEAL_LIMIT_MS, () => allShardsLed(this.world));
  }

  private later(fn: () => void, min: number, max: number): void {
    let done = false;
    const once = (): void => {
      if (done) return;
      done = true;
      fn();
    };
    this.pending.push(once);
    this.world.scheduler.schedule(this.random.between(min, max), once);
  }

  private act(): void {
    const w = this.world;
    const say = (msg: string, fields: Record<string, unknown> = {}): void => w.log.add('info', `NEMESIS ${msg}`, fields);
    const roll = this.random.next();
    const living = w.nodes.filter((n) => n.life?.alive);
    if (roll < 0.3 && living.length > 0) {
      const n = this.random.pick(living);
      const powerLoss = this.random.chance(0.3);
      say(powerLoss ? 'power loss' : 'crash', { node: n.address.name });
      w.crashNode(n, powerLoss);
      this.later(() => (say('restart', { node: n.address.name }), w.startNode(n)), 200, 3_000);
    } else if (roll < 0.45) {
      const n = this.random.pick(w.nodes);
      say('isolate', { node: n.address.name });
      for (const other of [...w.nodes.filter((o) => o !== n).map((o) => o.address.internal), COORDINATOR]) w.network.partition(n.address.internal, other);
      this.later(() => (say('heal'), w.network.heal()), 500, 4_000);
    } else if (roll < 0.55 && w.nodes.length > 1) {
      const [a, b] = [this.random.pick(w.nodes), this.random.pick(w.nodes)];
      if (a && b && a !== b) {
        say('part', { a: a.address.name, b: b.address.name });
        w.network.partition(a.address.internal, b.address.internal);
        this.later(() => (say('heal'), w.network.heal()), 500, 4_000);
      }
    } else if (roll < 0.65) {
      say('crash coordinator');
      w.crashCoordinator();
      this.later(() => (say('restart coordinator'), void w.startCoordinator()), 200, 3_000);
    } else if (roll < 0.69) {
      say('power loss of every node');
      for (const n of w.nodes) w.crashNode(n, true);
      this.later(() => (say('restart every node'), w.nodes.forEach((n) => w.startNode(n))), 300, 2_000);
    } else if (roll < 0.74) {
      // The coordinator alone loses the node: it may elect another leader while the node
      // still reaches its followers and its clients (a deposed leader that does not know it).
      const n = this.random.pick(w.nodes);
      say('part from coordinator', { node: n.address.name });
      w.network.partition(n.address.internal, COORDINATOR);
      this.later(() => (say('heal'), w.network.heal()), 500, 4_000);
    }
  }
}

/**
 * Every entry ever appended to any replica's log, by shard, term and offset: two different
 * entries at one term and offset mean two leaders took writes in one term.
 */
class EntryLedger {
  private readonly entries = new Map<string, string>();
  constructor(private readonly report: (problem: string) => void) {}

  appended(node: string, shard: ShardRef, entries: readonly LogEntry[]): void {
    for (const e of entries) {
      const key = `${shard.namespace}/${shard.shard}@${e.term}:${e.offset}`;
      const digest = createHash('sha1').update(e.value).update(String(e.timestamp)).digest('hex');
      const known = this.entries.get(key);
      if (known === undefined) this.entries.set(key, digest);
      else if (known !== digest) this.report(`two different entries at term ${e.term}, offset ${e.offset} of shard ${shard.shard} (the second on ${node}): two leaders in one term`);
    }
  }
}

/** Version ids are never reused within a shard: two acknowledged puts never get the same one. */
function versionReuse(history: readonly KvOperation[]): string[] {
  const owners = new Map<string, KvOperation>();
  const problems: string[] = [];
  for (const op of history) {
    if (op.input.type !== 'put' || op.output.type !== 'ok' || op.output.versionId === undefined) continue;
    // Each shard counts its own versions.
    const key = `${op.shard}:${op.output.versionId}`;
    const before = owners.get(key);
    if (before) problems.push(`version ${op.output.versionId} of shard ${op.shard} given to two puts: ${describeOperation(before)} and ${describeOperation(op)}`);
    owners.set(key, op);
  }
  return problems;
}

/** The coordinator's terms of a shard never go back, in the order the statuses were stored. */
function termsGoingBack(world: SimWorld): string[] {
  const last = new Map<bigint, bigint>();
  const problems: string[] = [];
  for (const status of world.status.history) {
    for (const [shard, meta] of status.namespaces.get(NAMESPACE)?.shards ?? []) {
      const before = last.get(shard);
      if (before !== undefined && meta.term < before) problems.push(`shard ${shard}: term went back from ${before} to ${meta.term} in the cluster status`);
      last.set(shard, meta.term);
    }
  }
  return problems;
}

function fingerprint(history: readonly KvOperation[], world: SimWorld): string {
  const h = createHash('sha256');
  for (const op of history) h.update(describeOperation(op)).update('\n');
  h.update(String(world.now()));
  for (const line of world.log.tail(200)) h.update(line);
  return h.digest('hex').slice(0, 16);
}
