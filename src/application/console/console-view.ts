/**
 * What the web console shows (ADR 0028), computed from what the coordinator knows: pure
 * functions from the status, the monitored nodes, the replicas' GetStatus answers and the
 * journal to a plain, JSON-ready view. The HTTP adapter only renders it.
 */
import type { ClusterStatus, ShardMetadata } from '../../domain/cluster/cluster-status.js';
import { nodeId, type NodeAddress } from '../../domain/cluster/node-address.js';
import type { NodeRunState } from '../../domain/coordinator/node-health.js';
import { routingHash } from '../../domain/sharding/hash.js';
import type { HashRange } from '../../domain/sharding/hash-range.js';
import type { JournalEntry } from './cluster-journal.js';

/** A replica's own account of a shard (GetStatus), or why there is none. */
export type ReplicaReport =
  | { readonly ok: true; readonly role: 'leader' | 'follower' | 'fenced' | 'not a member'; readonly term: bigint; readonly headOffset: bigint; readonly commitOffset: bigint }
  | { readonly ok: false; readonly error: string };

export interface ServerView {
  readonly name: string;
  readonly publicAddress: string;
  readonly internalAddress: string;
  readonly health: 'up' | 'down' | 'unknown';
  /** Wall-clock ms since when it runs (undefined while down). */
  readonly upSinceMs: number | undefined;
  /** Shards with a replica on it, and those it leads. */
  readonly replicas: number;
  readonly leaderships: number;
  /** False for a node that left the cluster and still holds replicas (draining). */
  readonly member: boolean;
}

export interface ReplicaView {
  readonly node: string;
  readonly role: string;
  readonly headOffset: string | undefined;
  readonly commitOffset: string | undefined;
  /** Entries behind the leader's head (undefined when either is unknown). */
  readonly lag: string | undefined;
  readonly error: string | undefined;
}

export interface ShardView {
  readonly id: string;
  /** "0x00000000–0x55555554". */
  readonly range: string;
  readonly leader: string | undefined;
  readonly ensemble: readonly string[];
  readonly term: string;
  readonly status: string;
  readonly replicas: readonly ReplicaView[];
  /** Open sessions on the shard (undefined when they could not be counted). */
  readonly sessions: number | undefined;
}

export interface NamespaceView {
  readonly name: string;
  readonly replicationFactor: number;
  readonly shards: readonly ShardView[];
}

export interface BalancerView {
  readonly scheduleIntervalMs: number;
  readonly quarantineTimeMs: number;
  readonly replicaMove: { readonly shard: string; readonly from: string; readonly to: string; readonly forMs: number } | undefined;
  readonly movingLeader: boolean;
  readonly quarantined: readonly { readonly shard: string; readonly what: string; readonly remainingMs: number }[];
  readonly splitsRunning: number;
}

export interface ClusterView {
  readonly kind: 'cluster';
  readonly generatedAtMs: number;
  readonly coordinator: string;
  readonly healthCheck: { readonly intervalMs: number; readonly failureThreshold: number };
  readonly servers: readonly ServerView[];
  readonly namespaces: readonly NamespaceView[];
  readonly events: readonly JournalEntry[];
  readonly balancer: BalancerView;
}

/** A standby coordinator has no cluster to show: it says so, and who it is. */
export interface StandbyView {
  readonly kind: 'standby';
  readonly generatedAtMs: number;
  readonly coordinator: string;
  readonly reason: string;
  readonly events: readonly JournalEntry[];
}

export type ConsoleView = ClusterView | StandbyView;

export interface ClusterFacts {
  readonly nowMs: number;
  readonly coordinator: string;
  readonly healthCheck: { readonly intervalMs: number; readonly failureThreshold: number };
  readonly status: ClusterStatus;
  readonly members: readonly NodeAddress[];
  readonly nodes: readonly { readonly node: NodeAddress; readonly state: NodeRunState; readonly upSinceMs: number | undefined }[];
  /** By shard label, then node id. */
  readonly replicas: ReadonlyMap<string, ReadonlyMap<string, ReplicaReport>>;
  /** Open sessions by shard label. */
  readonly sessions: ReadonlyMap<string, number>;
  readonly events: readonly JournalEntry[];
  readonly balancer: BalancerView;
}

const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

export function formatHashRange(range: HashRange): string {
  return `${hex32(range.min)}–${hex32(range.max)}`;
}

/** The label shards go by in the console and the logs: `namespace/shard`. */
export function consoleShardLabel(namespace: string, shard: bigint): string {
  return `${namespace}/${shard}`;
}

function replicaViews(meta: ShardMetadata, reports: ReadonlyMap<string, ReplicaReport> | undefined): ReplicaView[] {
  const leaderId = meta.leader ? nodeId(meta.leader) : undefined;
  const leaderReport = leaderId ? reports?.get(leaderId) : undefined;
  const leaderHead = leaderReport?.ok ? leaderReport.headOffset : undefined;
  const nodes = [...meta.ensemble, ...meta.removedNodes];
  return nodes.map((n) => {
    const id = nodeId(n);
    const r = reports?.get(id);
    if (!r) return { node: id, role: 'unknown', headOffset: undefined, commitOffset: undefined, lag: undefined, error: undefined };
    if (!r.ok) return { node: id, role: 'unreachable', headOffset: undefined, commitOffset: undefined, lag: undefined, error: r.error };
    const lag = leaderHead === undefined ? undefined : leaderHead > r.headOffset ? leaderHead - r.headOffset : 0n;
    return { node: id, role: r.role, headOffset: String(r.headOffset), commitOffset: String(r.commitOffset), lag: lag === undefined ? undefined : String(lag), error: undefined };
  });
}

/** The cluster page's content. Servers are the members, then nodes still holding replicas. */
export function clusterView(f: ClusterFacts): ClusterView {
  const replicas = new Map<string, number>();
  const leaderships = new Map<string, number>();
  const holders = new Map<string, NodeAddress>();
  const namespaces: NamespaceView[] = [];
  for (const [name, ns] of [...f.status.namespaces].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const shards: ShardView[] = [];
    for (const [shard, meta] of [...ns.shards].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const label = consoleShardLabel(name, shard);
      for (const n of meta.ensemble) {
        replicas.set(nodeId(n), (replicas.get(nodeId(n)) ?? 0) + 1);
        holders.set(nodeId(n), n);
      }
      if (meta.leader) leaderships.set(nodeId(meta.leader), (leaderships.get(nodeId(meta.leader)) ?? 0) + 1);
      shards.push({
        id: String(shard),
        range: formatHashRange(meta.int32HashRange),
        leader: meta.leader ? nodeId(meta.leader) : undefined,
        ensemble: meta.ensemble.map(nodeId),
        term: String(meta.term),
        status: meta.split ? `${meta.status} (split: ${meta.split.phase})` : meta.status,
        replicas: replicaViews(meta, f.replicas.get(label)),
        sessions: f.sessions.get(label),
      });
    }
    namespaces.push({ name, replicationFactor: ns.replicationFactor, shards });
  }
  const monitored = new Map(f.nodes.map((n) => [nodeId(n.node), n]));
  const memberIds = new Set(f.members.map(nodeId));
  const listed = [...f.members, ...[...holders.values()].filter((n) => !memberIds.has(nodeId(n)))];
  const servers = listed.map((node): ServerView => {
    const id = nodeId(node);
    const m = monitored.get(id);
    return {
      name: id,
      publicAddress: node.public,
      internalAddress: node.internal,
      health: !m ? 'unknown' : m.state === 'Running' ? 'up' : 'down',
      upSinceMs: m?.upSinceMs,
      replicas: replicas.get(id) ?? 0,
      leaderships: leaderships.get(id) ?? 0,
      member: memberIds.has(id),
    };
  });
  return {
    kind: 'cluster',
    generatedAtMs: f.nowMs,
    coordinator: f.coordinator,
    healthCheck: f.healthCheck,
    servers,
    namespaces,
    events: f.events,
    balancer: f.balancer,
  };
}

/**
 * A partition key that routes to `range` (the data API reads one shard when given one): the
 * first of "shard-0", "shard-1", ... whose routing hash falls in it. Undefined when none of
 * the first `tries` does (a range so narrow that the search is not worth it).
 */
export function partitionKeyInRange(range: HashRange, tries = 1_000_000): string | undefined {
  for (let i = 0; i < tries; i++) {
    const candidate = `shard-${i}`;
    const h = routingHash(candidate);
    if (h >= range.min && h <= range.max) return candidate;
  }
  return undefined;
}

/** The exclusive upper bound of the keys starting with `prefix` ("" lists everything). */
export function prefixEnd(prefix: string): string {
  return prefix === '' ? '\u{10FFFF}' : `${prefix}\u{10FFFF}`;
}
