import { sameDeclaration, type ClusterConfig, type NamespaceConfig, type ServerMetadata } from './cluster-config.js';
import { nodeId, type NodeAddress } from './node-address.js';

/**
 * What the admin API changed in the cluster's configuration, kept in the cluster status
 * (so it is stored with compare-and-set like every other coordinator decision, and survives
 * a restart) and laid over the operator's config file or ConfigMap (ADR 0022).
 *
 * Each entry remembers what the config declared for it when the API changed it (`base`).
 * While the config still declares exactly that, the API's value is used. When the config
 * later says something else for that entry, the operator edited it after the API call:
 * the config's declaration is used and the entry is dropped (reported as superseded).
 * When the config comes to declare what the API set, the entry is redundant and dropped too.
 */
export interface AdminChanges {
  /** Namespaces created, patched or deleted through the API, by name. */
  readonly namespaces: ReadonlyMap<string, AdminChange<NamespaceConfig>>;
  /** Data servers created, patched or deleted through the API, by node id (name, else internal address). */
  readonly dataServers: ReadonlyMap<string, AdminChange<DataServerDeclaration>>;
}

export interface AdminChange<T> {
  /** The entry as the API left it; undefined: deleted. */
  readonly value: T | undefined;
  /** What the config declared for the entry when the API changed it; undefined: nothing. */
  readonly base: T | undefined;
}

/** A data server as the config declares it: its addresses and its labels. */
export interface DataServerDeclaration {
  readonly address: NodeAddress;
  readonly metadata: ServerMetadata | undefined;
}

export const NO_ADMIN_CHANGES: AdminChanges = Object.freeze({ namespaces: new Map(), dataServers: new Map() });

export function hasAdminChanges(changes: AdminChanges | undefined): changes is AdminChanges {
  return changes !== undefined && (changes.namespaces.size > 0 || changes.dataServers.size > 0);
}

/** An entry whose change no longer applies, and why. */
export interface DroppedChange {
  readonly kind: 'namespace' | 'dataServer';
  readonly name: string;
  /** superseded: the config changed the entry after the API did; redundant: the config now declares what the API set. */
  readonly reason: 'superseded' | 'redundant';
}

export interface EffectiveConfig {
  /** The config with the changes that still apply laid over it. */
  readonly config: ClusterConfig;
  /** Changes that no longer apply: the coordinator removes them from the stored changes. */
  readonly dropped: readonly DroppedChange[];
  /** Node ids of data servers the API deleted and of those it created or patched, with their declaration. */
  readonly deletedServers: ReadonlySet<string>;
  readonly declaredServers: ReadonlyMap<string, DataServerDeclaration>;
}

/** The config's data servers by node id, with their labels. */
export function declaredDataServers(config: ClusterConfig): Map<string, DataServerDeclaration> {
  return new Map(config.servers.map((s) => [nodeId(s), { address: s, metadata: config.serverMetadata.get(nodeId(s)) }]));
}

export function sameDataServer(a: DataServerDeclaration | undefined, b: DataServerDeclaration | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return sameDeclaration(a.address, b.address) && sameDeclaration(a.metadata?.labels ?? {}, b.metadata?.labels ?? {});
}

export function sameNamespace(a: NamespaceConfig | undefined, b: NamespaceConfig | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return sameDeclaration(a, b);
}

/** The configuration in force: the config file's, with the API's changes that still apply. */
export function applyAdminChanges(file: ClusterConfig, changes: AdminChanges | undefined): EffectiveConfig {
  if (!hasAdminChanges(changes)) return { config: file, dropped: [], deletedServers: new Set(), declaredServers: new Map() };
  const dropped: DroppedChange[] = [];

  const namespaces = new Map(file.namespaces.map((n) => [n.name, n] as const));
  for (const [name, change] of [...changes.namespaces].sort(byKey)) {
    const declared = namespaces.get(name);
    if (sameNamespace(declared, change.value)) {
      dropped.push({ kind: 'namespace', name, reason: 'redundant' });
      continue;
    }
    if (!sameNamespace(declared, change.base)) {
      dropped.push({ kind: 'namespace', name, reason: 'superseded' });
      continue;
    }
    if (change.value) namespaces.set(name, change.value);
    else namespaces.delete(name);
  }

  const servers = declaredDataServers(file);
  const deletedServers = new Set<string>();
  const declaredServers = new Map<string, DataServerDeclaration>();
  for (const [id, change] of [...changes.dataServers].sort(byKey)) {
    const declared = servers.get(id);
    if (sameDataServer(declared, change.value)) {
      dropped.push({ kind: 'dataServer', name: id, reason: 'redundant' });
      continue;
    }
    if (!sameDataServer(declared, change.base)) {
      dropped.push({ kind: 'dataServer', name: id, reason: 'superseded' });
      continue;
    }
    if (change.value) {
      servers.set(id, change.value);
      declaredServers.set(id, change.value);
    } else {
      servers.delete(id);
      deletedServers.add(id);
    }
  }

  const serverMetadata = new Map<string, ServerMetadata>();
  for (const [id, s] of servers) if (s.metadata) serverMetadata.set(id, s.metadata);
  // Servers the config lists but does not declare as data servers keep their labels (Kubernetes discovery).
  for (const [id, m] of file.serverMetadata) if (!servers.has(id) && !deletedServers.has(id)) serverMetadata.set(id, m);
  return {
    config: { ...file, namespaces: [...namespaces.values()], servers: [...servers.values()].map((s) => s.address), serverMetadata },
    dropped,
    deletedServers,
    declaredServers,
  };
}

/** The changes without the entries that no longer apply. */
export function withoutDropped(changes: AdminChanges, dropped: readonly DroppedChange[]): AdminChanges {
  if (dropped.length === 0) return changes;
  const namespaces = new Map(changes.namespaces);
  const dataServers = new Map(changes.dataServers);
  for (const d of dropped) (d.kind === 'namespace' ? namespaces : dataServers).delete(d.name);
  return { namespaces, dataServers };
}

/**
 * The members the coordinator places replicas on: the discovered nodes (the config's servers
 * with static discovery, the pods with Kubernetes), without the data servers the API deleted,
 * with those it created or patched.
 */
export function membersWithAdminChanges(discovered: readonly NodeAddress[], effective: EffectiveConfig): NodeAddress[] {
  const byId = new Map(discovered.map((n) => [nodeId(n), n] as const));
  for (const id of effective.deletedServers) byId.delete(id);
  for (const [id, s] of effective.declaredServers) byId.set(id, s.address);
  return [...byId.values()].sort((a, b) => (nodeId(a) < nodeId(b) ? -1 : nodeId(a) > nodeId(b) ? 1 : 0));
}

function byKey<T>(a: readonly [string, T], b: readonly [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
