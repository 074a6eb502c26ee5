import type { KeySorting } from '../sharding/namespace.js';
import { isValidNamespaceName } from '../sharding/namespace.js';
import { isHostPort, type NodeAddress } from './node-address.js';

/**
 * What the operator declares for a cluster, in Oxia's cluster configuration terms
 * (the YAML of `oxia coordinator --conf`, or the `config.yaml` key of a ConfigMap).
 * The coordinator reconciles the ClusterStatus towards it.
 */
export interface ClusterConfig {
  readonly namespaces: readonly NamespaceConfig[];
  /** The storage nodes, when discovery is static. May be empty when nodes are discovered elsewhere. */
  readonly servers: readonly NodeAddress[];
  /** Extra authorities (host:port) clients may be told to use, besides the servers' public addresses. */
  readonly allowExtraAuthorities: readonly string[];
  /** Labels of servers by node id (name, else internal address), used by anti-affinity rules. */
  readonly serverMetadata: ReadonlyMap<string, ServerMetadata>;
  readonly loadBalancer: LoadBalancerConfig;
  /** Oxia's `autoSplit`: the coordinator splits shards over a size or throughput threshold (off by default). */
  readonly autoSplit: AutoSplitConfig;
}

export interface NamespaceConfig {
  readonly name: string;
  readonly initialShardCount: number;
  readonly replicationFactor: number;
  /** Default true, as in Oxia. */
  readonly notificationsEnabled: boolean;
  /** Default 'hierarchical', as in Oxia. */
  readonly keySorting: KeySorting;
  readonly antiAffinities: readonly AntiAffinity[];
}

export type AntiAffinityMode = 'strict' | 'relaxed';

/** No two replicas of a shard on servers that share a value for any of these labels. */
export interface AntiAffinity {
  readonly labels: readonly string[];
  /** strict: fail the ensemble choice if the rule cannot be met; relaxed: prefer, but proceed. */
  readonly mode: AntiAffinityMode;
}

export interface ServerMetadata {
  readonly labels: Readonly<Record<string, string>>;
}

export interface LoadBalancerConfig {
  /** How often the balancer looks for shards to move (Oxia default 30 s). */
  readonly scheduleIntervalMs: number;
  /** How long a node that was just moved from or to is left alone (Oxia default 5 min). */
  readonly quarantineTimeMs: number;
}

/** Oxia's AutoSplitConfig (metadata.proto), durations in ms, each zero or missing field taking Oxia's default. */
export interface AutoSplitConfig {
  readonly enabled: boolean;
  /** A shard whose leader's store is larger than this (MiB) is split (Oxia default 1024). */
  readonly maxShardSizeMb: number;
  /** A shard whose leader serves more reads plus writes per second than this is split (Oxia default 10000). */
  readonly maxThroughputOps: number;
  /** How long a shard must stay over a threshold before it is split (Oxia default 1 min). */
  readonly stabilizationPeriodMs: number;
  /** After a split is started, how long before the next one may start (Oxia default 5 min). */
  readonly cooldownPeriodMs: number;
  /** No namespace is split beyond this many shards (Oxia default 64). */
  readonly maxShardsPerNamespace: number;
  /** How often the leaders' shard stats are collected (Oxia default 30 s). */
  readonly collectionIntervalMs: number;
}

export const DEFAULT_AUTO_SPLIT: AutoSplitConfig = Object.freeze({
  enabled: false,
  maxShardSizeMb: 1024,
  maxThroughputOps: 10_000,
  stabilizationPeriodMs: 60_000,
  cooldownPeriodMs: 300_000,
  maxShardsPerNamespace: 64,
  collectionIntervalMs: 30_000,
});

export const DEFAULT_LOAD_BALANCER: LoadBalancerConfig = Object.freeze({ scheduleIntervalMs: 30_000, quarantineTimeMs: 300_000 });
/** A bound against typos: Oxia has none, but thousands of shards per namespace is never meant. */
export const INITIAL_SHARD_COUNT_MAX = 1024;

export interface ClusterConfigCheck {
  /**
   * True when the servers come from the config (static discovery): then there must be some,
   * and each namespace's replication factor must fit in them. With Kubernetes discovery the
   * list may be empty and the coordinator checks the factor against the nodes it finds.
   */
  readonly serversRequired: boolean;
}

/** Every rule the parsed config breaks, each naming the field; empty when it is valid. */
export function clusterConfigProblems(config: ClusterConfig, check: ClusterConfigCheck): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  config.namespaces.forEach((ns, i) => {
    const path = `namespaces[${i}]`;
    if (!isValidNamespaceName(ns.name)) problems.push(`${path}.name: "${ns.name}" is not a valid namespace name (letters, digits, '.', '_', '-'; 1 to 253 characters)`);
    if (names.has(ns.name)) problems.push(`${path}.name: namespace "${ns.name}" is declared twice`);
    names.add(ns.name);
    if (!Number.isInteger(ns.initialShardCount) || ns.initialShardCount < 1 || ns.initialShardCount > INITIAL_SHARD_COUNT_MAX) {
      problems.push(`${path}.initialShardCount: must be an integer from 1 to ${INITIAL_SHARD_COUNT_MAX}, got ${ns.initialShardCount}`);
    }
    if (!Number.isInteger(ns.replicationFactor) || ns.replicationFactor < 1) {
      problems.push(`${path}.replicationFactor: must be a positive integer, got ${ns.replicationFactor}`);
    } else if (check.serversRequired && ns.replicationFactor > config.servers.length) {
      problems.push(`${path}.replicationFactor: namespace "${ns.name}" needs ${ns.replicationFactor} servers but only ${config.servers.length} are configured`);
    }
    ns.antiAffinities.forEach((a, j) => {
      if (a.labels.length === 0 || a.labels.some((l) => l.trim() === '')) problems.push(`${path}.antiAffinities[${j}].labels: must list at least one non-empty label`);
    });
  });

  if (check.serversRequired && config.servers.length === 0) problems.push('servers: at least one server is required');
  const serverNames = new Map<string, number>();
  const publics = new Map<string, number>();
  const internals = new Map<string, number>();
  config.servers.forEach((s, i) => {
    const path = `servers[${i}]`;
    if (s.name !== undefined && s.name.trim() === '') problems.push(`${path}.name: must not be empty when given`);
    if (!isHostPort(s.public)) problems.push(`${path}.public: "${s.public}" is not a host:port address`);
    if (!isHostPort(s.internal)) problems.push(`${path}.internal: "${s.internal}" is not a host:port address`);
    const dup = (seen: Map<string, number>, key: string, what: string): void => {
      const first = seen.get(key);
      if (first !== undefined) problems.push(`${path}: same ${what} as servers[${first}] (${key})`);
      else seen.set(key, i);
    };
    if (s.name !== undefined) dup(serverNames, s.name, 'name');
    dup(internals, s.internal, 'internal address');
    dup(publics, s.public, 'public address');
  });
  config.allowExtraAuthorities.forEach((a, i) => {
    if (!isHostPort(a)) problems.push(`allowExtraAuthorities[${i}]: "${a}" is not a host:port address`);
  });
  const lb = config.loadBalancer;
  if (!(lb.scheduleIntervalMs > 0)) problems.push('loadBalancer.scheduleInterval: must be positive');
  if (!(lb.quarantineTimeMs >= 0)) problems.push('loadBalancer.quarantineTime: must not be negative');
  return problems;
}

/** True when two configs declare the same thing (watchers skip edits that change nothing, such as comments). */
export function sameClusterConfig(a: ClusterConfig, b: ClusterConfig): boolean {
  return canonical(a) === canonical(b);
}

/** True when two parts of a config (a namespace, a server, labels) declare the same thing, whatever their keys' order. */
export function sameDeclaration(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(config: unknown): string {
  return JSON.stringify(config, (_key, value: unknown) => {
    if (value instanceof Map) return [...value.entries()].sort(([x], [y]) => (String(x) < String(y) ? -1 : 1));
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : 1)));
    }
    return value;
  });
}
