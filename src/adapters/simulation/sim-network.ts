import type { AssignmentsStream, HealthWatch, HealthWatchListener, StorageNodeClient } from '../../application/ports/storage-node-client.js';
import type {
  AckSender,
  AppendMessage,
  ReplicateStream,
  ReplicateStreamHandlers,
  ReplicationClient,
  ReplicationTarget,
  SnapshotChunkMessage,
  SnapshotSink,
} from '../../application/ports/replication-client.js';
import type { ClientApi } from '../../application/client-api.js';
import type { CoordinationApi, ReplicationApi } from '../../application/node/storage-node-api.js';
import type { NodeAddress } from '../../domain/cluster/node-address.js';
import type { HealthObservation } from '../../domain/coordinator/node-health.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { EntryId } from '../../domain/wal/log-entry.js';
import { AsyncQueue } from './async-queue.js';
import type { SimHealth } from './sim-process-kit.js';
import type { SeededRandom } from './seeded-random.js';
import type { Incarnation, VirtualScheduler } from './virtual-time.js';

/** What a simulated network does wrong, and how often. */
export interface NetworkFaults {
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Chance that a unary request or its answer is lost (the caller waits out its deadline). */
  readonly drop: number;
  /**
   * Chance that a coordination or replication request reaches its server twice (the caller
   * sees the first answer): those must be idempotent. A client's write is never duplicated
   * by the transport (gRPC does not resend), so it is not here either.
   */
  readonly duplicate: number;
  /** Defect: the network acknowledges appends for the follower before they reach it. */
  readonly forgedAcks?: boolean;
  /**
   * Defect: Append streams reach followers without their leader's term (as from an old leader
   * that does not say it), so a follower takes the appends of whichever leader talks to it.
   */
  readonly staleTermAppends?: boolean;
}

/** The services one storage node process serves. */
export interface NodeServices {
  readonly coordination: CoordinationApi;
  readonly replication: ReplicationApi;
  readonly client: ClientApi;
  /** The node's whole-server health, as its gRPC health service reports it. */
  readonly health: SimHealth;
}

interface Attached {
  readonly incarnation: Incarnation;
  readonly services: NodeServices;
}

/** One open stream between two processes: broken when either crashes or they are parted. */
interface Link {
  readonly a: string;
  readonly b: string;
  /** Parted: nothing more gets through (a stalled TCP connection), until it breaks. */
  stalled: boolean;
  break(reason: string): void;
}

const RPC_TIMEOUT_MS = 2_000;

function unavailable(message: string): OxiaError {
  return new OxiaError('ResourceUnavailable', message);
}

/** What a server-side failure looks like to the caller: its OxiaError, or an opaque unavailability. */
function asSeenByCaller(e: unknown): OxiaError {
  return e instanceof OxiaError ? e : unavailable(e instanceof Error ? e.message : String(e));
}

/**
 * The network of a simulation: every message between processes goes through it, with a
 * seeded delay, losses, duplicates and partitions, on simulated time. Streams keep their
 * order (they stand for TCP connections); separate calls may overtake each other.
 */
export class SimNetwork {
  private readonly nodes = new Map<string, Attached>();
  private readonly parted = new Set<string>();
  private readonly links = new Set<Link>();

  constructor(
    private readonly scheduler: VirtualScheduler,
    private readonly random: SeededRandom,
    private readonly faults: NetworkFaults,
  ) {}

  /** A storage node process serves on its internal address (which its clients also use). */
  attach(address: string, incarnation: Incarnation, services: NodeServices): void {
    this.nodes.set(address, { incarnation, services });
  }

  /** A process crashed: its streams break (the peers see the connection reset). */
  detach(address: string): void {
    this.nodes.delete(address);
    this.breakLinks((l) => l.a === address || l.b === address, `${address} is gone`);
  }

  /** Messages between a and b are lost from now on; their streams stall, then break. */
  partition(a: string, b: string): void {
    this.parted.add(pairKey(a, b));
    const between = (l: Link): boolean => pairKey(l.a, l.b) === pairKey(a, b);
    for (const l of this.links) if (between(l)) l.stalled = true;
    this.scheduler.schedule(this.random.between(200, 2_000), () => this.breakLinks(between, `connection between ${a} and ${b} timed out`));
  }

  heal(): void {
    this.parted.clear();
  }

  isParted(a: string, b: string): boolean {
    return this.parted.has(pairKey(a, b));
  }

  // ---- what processes use ----------------------------------------------------------

  /** One request-response call from `from` to the node at `to`, as a unary gRPC call with a deadline. */
  unary<R>(
    from: string,
    fromLife: Incarnation,
    to: string,
    invoke: (services: NodeServices, signal: AbortSignal) => Promise<R>,
    timeoutMs = RPC_TIMEOUT_MS,
    signal?: AbortSignal,
    mayDuplicate = false,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      const serverAbort = new AbortController();
      const settle = (f: () => void): void => {
        if (settled) return;
        settled = true;
        cancelDeadline();
        signal?.removeEventListener('abort', onAbort);
        serverAbort.abort();
        if (fromLife.alive) f();
      };
      const onAbort = (): void => settle(() => reject(new OxiaError('Aborted', `call to ${to} was abandoned`)));
      const cancelDeadline = this.scheduler.schedule(timeoutMs, () => settle(() => reject(unavailable(`call from ${from} to ${to}: deadline exceeded`))));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const deliver = (answer: boolean): void => {
        this.after(() => {
          const target = this.nodes.get(to);
          if (!fromLife.alive) return;
          if (!target) {
            // Connection refused: a process that is down fails calls fast.
            this.after(() => settle(() => reject(unavailable(`${to} is unreachable`))));
            return;
          }
          if (this.isParted(from, to) || this.random.chance(this.faults.drop)) return;
          const life = target.incarnation;
          let result: Promise<R>;
          try {
            result = invoke(target.services, serverAbort.signal);
          } catch (e) {
            result = Promise.reject(e);
          }
          result.then(
            (value) => answer && this.reply(from, to, life, () => settle(() => resolve(value))),
            (error: unknown) => answer && this.reply(from, to, life, () => settle(() => reject(asSeenByCaller(error)))),
          );
        });
      };
      deliver(true);
      if (mayDuplicate && this.random.chance(this.faults.duplicate)) deliver(false);
    });
  }

  /** The ReplicationClient port of one node process. */
  replicationClient(from: string, life: Incarnation): ReplicationClient {
    return {
      truncate: (follower, target, head) =>
        this.unary<EntryId>(from, life, follower, async (s) => (await s.replication.truncate({ namespace: target.namespace, shard: target.shard, term: target.term, headEntryId: head })).headEntryId ?? { term: -1n, offset: -1n }, RPC_TIMEOUT_MS, undefined, true),
      replicate: (follower, target, handlers) => this.replicateStream(from, life, follower, target, handlers),
      sendSnapshot: (follower, target) => this.snapshotStream(from, life, follower, target),
      close: async () => undefined,
    };
  }

  /** The StorageNodeClient port of one coordinator process. */
  storageNodeClient(from: string, life: Incarnation): StorageNodeClient {
    const call = <R>(node: NodeAddress, invoke: (s: NodeServices, signal: AbortSignal) => Promise<R>, signal?: AbortSignal, timeoutMs = RPC_TIMEOUT_MS): Promise<R> =>
      this.unary(from, life, node.internal, invoke, timeoutMs, signal, true);
    return {
      newTerm: (node, request, signal) => call(node, (s) => s.coordination.newTerm(request), signal),
      becomeLeader: (node, request, signal) => call(node, (s, server) => s.coordination.becomeLeader(request, server), signal),
      addFollower: (node, request, signal) => call(node, (s, server) => s.coordination.addFollower(request, server), signal),
      getStatus: (node, request, signal) => call(node, (s) => s.coordination.getStatus(request), signal),
      deleteShard: (node, request, signal) => call(node, (s) => s.coordination.deleteShard(request), signal),
      freezeShard: (node, request, signal) => call(node, (s, server) => s.coordination.freezeShard(request, server), signal),
      removeObserver: (node, request, signal) => call(node, (s) => s.coordination.removeObserver(request), signal),
      addObserver: (node, request, timeoutMs, signal) => call(node, (s, server) => s.coordination.addFollower(request, server), signal, timeoutMs),
      checkHealth: async (node, timeoutMs, signal): Promise<HealthObservation> => {
        try {
          return (await call(node, async (s) => s.health.serving, signal, timeoutMs)) ? 'serving' : 'not-serving';
        } catch (e) {
          if (e instanceof OxiaError && e.message.endsWith('deadline exceeded')) return 'timeout';
          if (e instanceof OxiaError && e.message.endsWith('is unreachable')) return 'unreachable';
          return 'failed';
        }
      },
      watchHealth: (node, listener) => this.healthWatch(from, life, node.internal, listener),
      pushAssignments: (node, onEnd) => this.assignmentsStream(from, life, node.internal, onEnd),
      forget: () => undefined,
      close: async () => undefined,
    };
  }

  // ---- streams ---------------------------------------------------------------------

  private replicateStream(from: string, life: Incarnation, to: string, target: ReplicationTarget, handlers: ReplicateStreamHandlers): ReplicateStream {
    const appends = new AsyncQueue<AppendMessage>();
    const serverAbort = new AbortController();
    let closed = false;
    const close = (error: OxiaError | undefined): void => {
      if (closed) return;
      closed = true;
      this.links.delete(link);
      appends.fail(error ?? unavailable('stream ended'));
      serverAbort.abort();
      if (life.alive) handlers.onClose(error);
    };
    const link: Link = { a: from, b: to, stalled: false, break: (reason) => close(unavailable(reason)) };
    this.links.add(link);
    const toLeader = this.fifo(link);
    const toFollower = this.fifo(link);
    toFollower(() => {
      const node = this.nodes.get(to);
      if (closed) return;
      if (!node || this.isParted(from, to)) return toLeader(() => close(unavailable(`${to} is unreachable`)));
      const nodeLife = node.incarnation;
      const sendAck: AckSender = (offset, echo) => {
        if (!nodeLife.alive || this.faults.forgedAcks) return;
        toLeader(() => !closed && life.alive && handlers.onAck(offset, echo));
      };
      const seenTarget = this.faults.staleTermAppends ? { ...target, term: -1n } : target;
      node.services.replication.replicate(seenTarget, appends, sendAck, serverAbort.signal).then(
        () => toLeader(() => close(undefined)),
        (e: unknown) => nodeLife.alive && toLeader(() => close(asSeenByCaller(e))),
      );
    });
    return {
      send: (append) => {
        if (closed) return true;
        const sent = this.faults.staleTermAppends ? { ...append, term: -1n } : append;
        toFollower(() => !closed && appends.push(sent));
        // The defect: an ack as if the follower had the entry durably, sent before it even got it.
        if (this.faults.forgedAcks && append.entry) {
          const offset = append.entry.offset;
          toLeader(() => !closed && life.alive && handlers.onAck(offset, append.leaseProbeMs));
        }
        return true;
      },
      writable: async () => undefined,
      cancel: () => close(new OxiaError('Aborted', `replication to ${to} cancelled`)),
    };
  }

  private snapshotStream(from: string, life: Incarnation, to: string, target: ReplicationTarget): SnapshotSink {
    const chunks = new AsyncQueue<SnapshotChunkMessage>();
    const serverAbort = new AbortController();
    let failure: OxiaError | undefined;
    let settle!: { resolve: (offset: bigint) => void; reject: (e: OxiaError) => void };
    const result = new Promise<bigint>((resolve, reject) => (settle = { resolve, reject }));
    result.catch(() => undefined);
    const fail = (e: OxiaError): void => {
      if (failure) return;
      failure = e;
      this.links.delete(link);
      chunks.fail(e);
      serverAbort.abort();
      if (life.alive) settle.reject(e);
    };
    const link: Link = { a: from, b: to, stalled: false, break: (reason) => fail(unavailable(reason)) };
    this.links.add(link);
    const toLeader = this.fifo(link);
    const toFollower = this.fifo(link);
    toFollower(() => {
      const node = this.nodes.get(to);
      if (failure) return;
      if (!node || this.isParted(from, to)) return toLeader(() => fail(unavailable(`${to} is unreachable`)));
      const nodeLife = node.incarnation;
      node.services.replication.installSnapshot(target, chunks, serverAbort.signal).then(
        (offset) =>
          nodeLife.alive &&
          toLeader(() => {
            if (failure) return;
            this.links.delete(link);
            if (life.alive) settle.resolve(offset);
          }),
        (e: unknown) => nodeLife.alive && toLeader(() => fail(asSeenByCaller(e))),
      );
    });
    return {
      send: async (chunk) => {
        if (failure) throw failure;
        toFollower(() => chunks.push(chunk));
      },
      finish: () => {
        toFollower(() => chunks.end());
        return result;
      },
      cancel: () => fail(new OxiaError('Aborted', `snapshot to ${to} cancelled`)),
    };
  }

  private healthWatch(from: string, life: Incarnation, to: string, listener: HealthWatchListener): HealthWatch {
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      unwatch();
      this.links.delete(link);
      if (life.alive) listener.onEnd();
    };
    const link: Link = { a: from, b: to, stalled: false, break: end };
    this.links.add(link);
    const deliver = this.fifo(link);
    let unwatch = (): void => undefined;
    deliver(() => {
      const node = this.nodes.get(to);
      if (done) return;
      if (!node || this.isParted(from, to)) return deliver(end);
      const report = (serving: boolean): void => deliver(() => !done && life.alive && listener.onStatus(serving ? 'serving' : 'not-serving'));
      report(node.services.health.serving);
      unwatch = node.services.health.watch(report);
    });
    return { cancel: () => ((done = true), unwatch(), this.links.delete(link)) };
  }

  private assignmentsStream(from: string, life: Incarnation, to: string, onEnd: (error: Error) => void): AssignmentsStream {
    let ended = false;
    const end = (error: Error): void => {
      if (ended) return;
      ended = true;
      this.links.delete(link);
      if (life.alive) onEnd(error);
    };
    const link: Link = { a: from, b: to, stalled: false, break: (reason) => end(unavailable(reason)) };
    this.links.add(link);
    const deliver = this.fifo(link);
    let nodeLife: Incarnation | undefined;
    deliver(() => {
      const node = this.nodes.get(to);
      if (!node || this.isParted(from, to)) return deliver(() => end(unavailable(`${to} is unreachable`)));
      nodeLife = node.incarnation;
    });
    return {
      send: (assignments) => {
        if (ended) return false;
        deliver(() => {
          const node = this.nodes.get(to);
          if (!ended && node && node.incarnation === nodeLife) node.services.coordination.pushAssignments(assignments);
        });
        return true;
      },
      close: () => ((ended = true), this.links.delete(link)),
    };
  }

  // ---- delivery ----------------------------------------------------------------------

  private delay(): number {
    return this.random.between(this.faults.minDelayMs * 10, this.faults.maxDelayMs * 10) / 10;
  }

  private after(fn: () => void): void {
    this.scheduler.schedule(this.delay(), fn);
  }

  /** A server's answer travels back, unless the server died meanwhile, or the answer is lost. */
  private reply(from: string, to: string, serverLife: Incarnation, fn: () => void): void {
    if (!serverLife.alive) return;
    this.after(() => {
      if (this.isParted(from, to) || this.random.chance(this.faults.drop)) return;
      fn();
    });
  }

  /** One direction of a stream: delivered in order, each after a delay, nothing once it stalled. */
  private fifo(link: Link): (fn: () => void) => void {
    let last = 0;
    return (fn) => {
      const at = Math.max(this.scheduler.now() + this.delay(), last);
      last = at;
      this.scheduler.schedule(at - this.scheduler.now(), () => {
        if (!link.stalled) fn();
      });
    };
  }

  private breakLinks(which: (l: Link) => boolean, reason: string): void {
    for (const l of [...this.links]) if (which(l)) l.break(reason);
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
