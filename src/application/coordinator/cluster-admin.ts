import { inject, injectable } from 'inversify';
import { declaredDataServers, NO_ADMIN_CHANGES, sameDataServer, sameNamespace, type AdminChanges, type DataServerDeclaration } from '../../domain/cluster/admin-changes.js';
import { scopeOf } from '../../domain/security/access-policy.js';
import { dataServerOf, namespaceOf, namespaceStatusOf } from '../../domain/cluster/admin-wire.js';
import { INITIAL_SHARD_COUNT_MAX, type NamespaceConfig } from '../../domain/cluster/cluster-config.js';
import type { ClusterStatus } from '../../domain/cluster/cluster-status.js';
import { isHostPort, nodeId, type NodeAddress } from '../../domain/cluster/node-address.js';
import { withNamespace } from '../../domain/coordinator/status-edit.js';
import { invalidArgument, OxiaError } from '../../domain/errors/oxia-error.js';
import type { Principal } from '../../domain/security/principal.js';
import { isValidNamespaceName } from '../../domain/sharding/namespace.js';
import type {
  CreateDataServerRequest,
  CreateDataServerResponse,
  CreateNamespaceRequest,
  CreateNamespaceResponse,
  DataServerView,
  DeleteDataServerRequest,
  DeleteDataServerResponse,
  DeleteNamespaceRequest,
  DeleteNamespaceResponse,
  GetDataServerRequest,
  GetDataServerResponse,
  GetNamespaceRequest,
  GetNamespaceResponse,
  ListDataServersResponse,
  ListNamespacesResponse,
  NamespaceView,
  PatchDataServerRequest,
  PatchDataServerResponse,
  PatchNamespaceRequest,
  PatchNamespaceResponse,
  SplitShardRequest,
  SplitShardResponse,
} from '../../domain/wire/admin.js';
import { DataServerState } from '../../domain/wire/metadata.js';
import { AccessPolicySource } from '../ports/access-policy-source.js';
import { EVERY_NAMESPACE, requireAdminRight } from '../security/admin-right.js';
import { ActiveCoordinator } from './active-coordinator.js';
import type { AdminView, Coordinator } from './coordinator.js';

/** Data server calls concern the whole cluster: they need `admin` on every namespace ("*"). */
export { EVERY_NAMESPACE };

/**
 * The admin API (Oxia's OxiaAdmin service): namespaces and data servers created, patched and
 * deleted through the coordinator. A change is validated against the configuration in force,
 * stored with the cluster status (ADR 0022) and then reconciled like an edit of the config
 * file: new namespaces get shards, deleted ones are deleted, a new replication factor is
 * reached one replica at a time, a deleted server drains (DRAINING until its replicas moved).
 *
 * With an authorization policy, every call needs the `admin` right: on the namespace for
 * namespace and shard calls, on every namespace ("*") for data server calls.
 *
 * Only the coordinator holding the lease answers (ADR 0023); a standby refuses every call.
 */
@injectable()
export class ClusterAdmin {
  constructor(
    @inject(ActiveCoordinator) private readonly active: ActiveCoordinator,
    @inject(AccessPolicySource) private readonly policies: AccessPolicySource,
  ) {}

  /** The coordinator of the current leadership: a standby refuses (ResourceUnavailable) rather than answer from nothing. */
  private get coordinator(): Coordinator {
    return this.active.acting();
  }

  // ------------------------------------------------------------------ data servers

  listDataServers(caller: Principal): ListDataServersResponse {
    this.requireAdmin(caller, EVERY_NAMESPACE);
    return { dataServers: this.dataServerViews(this.coordinator.adminView()) };
  }

  getDataServer(caller: Principal, request: GetDataServerRequest): GetDataServerResponse {
    this.requireAdmin(caller, EVERY_NAMESPACE);
    if (request.dataServer === '') throw invalidArgument('data server must not be empty');
    const view = this.dataServerViews(this.coordinator.adminView()).find((v) => v.dataServer?.identity?.name === request.dataServer);
    if (!view) throw new OxiaError('NotFound', `data server "${request.dataServer}" not found`);
    return { dataServer: view };
  }

  async createDataServer(caller: Principal, request: CreateDataServerRequest): Promise<CreateDataServerResponse> {
    this.requireAdmin(caller, EVERY_NAMESPACE);
    const identity = request.dataServer?.identity;
    if (!identity) throw invalidArgument('data server identity must not be empty');
    const name = identity.name ?? '';
    if (name.trim() === '') throw invalidArgument('data server identity name must not be empty');
    requireAddress('public', identity.public);
    requireAddress('internal', identity.internal);
    const declaration: DataServerDeclaration = {
      address: { name, public: identity.public, internal: identity.internal },
      metadata: request.dataServer?.metadata ? { labels: { ...request.dataServer.metadata.labels } } : undefined,
    };
    await this.coordinator.editByAdmin((status, view) => {
      if (view.members.some((m) => nodeId(m) === name)) throw new OxiaError('AlreadyExists', `data server "${name}" already exists`);
      requireAddressesFree(view.members, declaration.address, undefined);
      return withDataServerChange(status, view, name, declaration);
    });
    return { dataServer: dataServerOf(declaration) };
  }

  async patchDataServer(caller: Principal, request: PatchDataServerRequest): Promise<PatchDataServerResponse> {
    this.requireAdmin(caller, EVERY_NAMESPACE);
    const patch = request.dataServer;
    const name = patch?.identity?.name ?? '';
    if (name.trim() === '') throw invalidArgument('data server identity name must not be empty');
    if (patch?.identity?.public) requireAddress('public', patch.identity.public);
    if (patch?.identity?.internal) requireAddress('internal', patch.identity.internal);
    let patched: DataServerDeclaration | undefined;
    await this.coordinator.editByAdmin((status, view) => {
      const current = declarationOf(view, name);
      if (!current) throw new OxiaError('NotFound', `data server "${name}" not found`);
      if (current.address.name === undefined && patch?.identity?.internal && patch.identity.internal !== current.address.internal) {
        throw invalidArgument(`data server "${name}" has no name and is known by its internal address, which cannot be patched`);
      }
      const address: NodeAddress = {
        ...(current.address.name !== undefined ? { name: current.address.name } : {}),
        public: patch?.identity?.public || current.address.public,
        internal: patch?.identity?.internal || current.address.internal,
      };
      requireAddressesFree(view.members, address, name);
      patched = { address, metadata: patch?.metadata ? { labels: { ...patch.metadata.labels } } : current.metadata };
      return withDataServerChange(status, view, name, patched);
    });
    return { dataServer: dataServerOf(patched!) };
  }

  async deleteDataServer(caller: Principal, request: DeleteDataServerRequest): Promise<DeleteDataServerResponse> {
    this.requireAdmin(caller, EVERY_NAMESPACE);
    const name = request.dataServer;
    if (name.trim() === '') throw invalidArgument('data server must not be empty');
    let deleted: DataServerDeclaration | undefined;
    await this.coordinator.editByAdmin((status, view) => {
      deleted = declarationOf(view, name);
      if (!deleted) throw new OxiaError('NotFound', `data server "${name}" not found`);
      const remaining = view.members.length - 1;
      for (const ns of view.effective.config.namespaces) {
        if (ns.replicationFactor > remaining) {
          throw new OxiaError(
            'FailedPrecondition',
            `cannot delete data server "${name}": namespace "${ns.name}" has replicationFactor=${ns.replicationFactor} and ${remaining} data servers would remain`,
          );
        }
      }
      return withDataServerChange(status, view, name, undefined);
    });
    return { dataServer: dataServerOf(deleted!) };
  }

  // ------------------------------------------------------------------ namespaces

  listNamespaces(caller: Principal): ListNamespacesResponse {
    const view = this.coordinator.adminView();
    const policy = this.policies.current();
    const namespaces = view.effective.config.namespaces
      .filter((ns) => !policy || scopeOf(policy, caller, ns.name, 'admin').kind === 'all')
      .map((ns) => namespaceView(view, ns))
      .sort((a, b) => (a.namespace!.name < b.namespace!.name ? -1 : 1));
    return { namespaces };
  }

  getNamespace(caller: Principal, request: GetNamespaceRequest): GetNamespaceResponse {
    if (request.namespace === '') throw invalidArgument('namespace must not be empty');
    this.requireAdmin(caller, request.namespace);
    const view = this.coordinator.adminView();
    return { namespace: namespaceView(view, requireNamespace(view, request.namespace)) };
  }

  async createNamespace(caller: Principal, request: CreateNamespaceRequest): Promise<CreateNamespaceResponse> {
    const ns = request.namespace;
    if (!ns) throw invalidArgument('namespace must not be empty');
    requireNamespaceName(ns.name);
    this.requireAdmin(caller, ns.name);
    if (ns.initialShardCount < 1 || ns.initialShardCount > INITIAL_SHARD_COUNT_MAX) {
      throw invalidArgument(`namespace initial shard count must be from 1 to ${INITIAL_SHARD_COUNT_MAX}, got ${ns.initialShardCount}`);
    }
    if (ns.replicationFactor < 1) throw invalidArgument('namespace replication factor must be greater than 0');
    // Oxia's CLI always sends one; an API caller that sends none gets the config file's default.
    const keySorting = ns.keySorting === '' ? 'hierarchical' : ns.keySorting;
    if (keySorting !== 'hierarchical' && keySorting !== 'natural') throw invalidArgument(`namespace key sorting must be one of "natural" or "hierarchical", got "${ns.keySorting}"`);
    if (ns.antiAffinities.length > 0) throw invalidArgument('namespace anti-affinities cannot be set on create');
    const config: NamespaceConfig = {
      name: ns.name,
      initialShardCount: ns.initialShardCount,
      replicationFactor: ns.replicationFactor,
      notificationsEnabled: ns.notificationsEnabled ?? true,
      keySorting,
      antiAffinities: [],
    };
    await this.coordinator.editByAdmin((status, view) => {
      if (view.effective.config.namespaces.some((n) => n.name === ns.name)) throw new OxiaError('AlreadyExists', `namespace "${ns.name}" already exists`);
      if (status.namespaces.has(ns.name)) throw new OxiaError('FailedPrecondition', `namespace "${ns.name}" is still being deleted`);
      requireServersFor(view, config);
      return withNamespaceChange(status, view, ns.name, config);
    });
    return { namespace: namespaceOf(config) };
  }

  async patchNamespace(caller: Principal, request: PatchNamespaceRequest): Promise<PatchNamespaceResponse> {
    const patch = request.namespace;
    if (!patch) throw invalidArgument('namespace must not be empty');
    requireNamespaceName(patch.name);
    this.requireAdmin(caller, patch.name);
    if (patch.initialShardCount !== 0) throw invalidArgument('namespace initial shard count cannot be patched');
    if (patch.keySorting !== '') throw invalidArgument('namespace key sorting cannot be patched');
    if (patch.antiAffinities.length > 0) throw invalidArgument('namespace anti-affinities cannot be patched');
    let patched: NamespaceConfig | undefined;
    await this.coordinator.editByAdmin((status, view) => {
      const current = requireNamespace(view, patch.name);
      patched = {
        ...current,
        replicationFactor: patch.replicationFactor !== 0 ? patch.replicationFactor : current.replicationFactor,
        notificationsEnabled: patch.notificationsEnabled ?? current.notificationsEnabled,
      };
      requireServersFor(view, patched);
      const next = withNamespaceChange(status, view, patch.name, patched);
      // The status reports the new factor at once; the ensembles follow one replica at a time.
      const nsStatus = next.namespaces.get(patch.name);
      return nsStatus ? withNamespace(next, patch.name, { ...nsStatus, replicationFactor: patched.replicationFactor }) : next;
    });
    return { namespace: namespaceOf(patched!) };
  }

  async deleteNamespace(caller: Principal, request: DeleteNamespaceRequest): Promise<DeleteNamespaceResponse> {
    requireNamespaceName(request.namespace);
    this.requireAdmin(caller, request.namespace);
    let deleted: NamespaceConfig | undefined;
    await this.coordinator.editByAdmin((status, view) => {
      deleted = requireNamespace(view, request.namespace);
      return withNamespaceChange(status, view, request.namespace, undefined);
    });
    return { namespace: namespaceOf(deleted!) };
  }

  // ------------------------------------------------------------------ shards

  /**
   * Starts a split (ADR 0025) and answers the children's ids once it is recorded; the split
   * itself runs on in the coordinator (the status shows its phase).
   */
  async splitShard(caller: Principal, request: SplitShardRequest): Promise<SplitShardResponse> {
    requireNamespaceName(request.namespace);
    this.requireAdmin(caller, request.namespace);
    const view = this.coordinator.adminView();
    requireNamespace(view, request.namespace);
    if (!view.status.namespaces.get(request.namespace)?.shards.has(request.shard)) {
      throw new OxiaError('ShardNotFound', `shard ${request.shard} not found in namespace "${request.namespace}"`);
    }
    const [leftChildShard, rightChildShard] = await this.coordinator.splitShard({ namespace: request.namespace, shard: request.shard }, request.splitPoint);
    return { leftChildShard, rightChildShard };
  }

  // ------------------------------------------------------------------ helpers

  private requireAdmin(caller: Principal, namespace: string): void {
    requireAdminRight(this.policies.current(), caller, namespace);
  }

  /** Members (RUNNING or UNAVAILABLE as the coordinator sees them), then nodes still holding replicas while they drain. */
  private dataServerViews(view: AdminView): DataServerView[] {
    const views: DataServerView[] = [];
    for (const member of view.members) {
      const running = this.coordinator.nodeState(nodeId(member)) === 'Running';
      views.push({
        dataServer: dataServerOf(declarationOf(view, nodeId(member))!),
        dataServerStatus: { state: running ? DataServerState.DATA_SERVER_STATE_RUNNING : DataServerState.DATA_SERVER_STATE_UNAVAILABLE, supportedFeatures: [] },
      });
    }
    for (const node of drainingNodes(view.status, view.members)) {
      views.push({
        dataServer: dataServerOf({ address: node, metadata: undefined }),
        dataServerStatus: { state: DataServerState.DATA_SERVER_STATE_DRAINING, supportedFeatures: [] },
      });
    }
    return views;
  }
}

/** Nodes that are no longer members but still hold a replica (in an ensemble, or leaving one), by id. */
export function drainingNodes(status: ClusterStatus, members: readonly NodeAddress[]): NodeAddress[] {
  const memberIds = new Set(members.map(nodeId));
  const out = new Map<string, NodeAddress>();
  for (const ns of status.namespaces.values()) {
    for (const shard of ns.shards.values()) {
      if (shard.status === 'Deleting') continue;
      for (const n of [...shard.ensemble, ...shard.removedNodes]) if (!memberIds.has(nodeId(n)) && !out.has(nodeId(n))) out.set(nodeId(n), n);
    }
  }
  return [...out.values()].sort((a, b) => (nodeId(a) < nodeId(b) ? -1 : 1));
}

/** A member's declaration: as the API or the config declared it, else as discovered. */
function declarationOf(view: AdminView, id: string): DataServerDeclaration | undefined {
  const member = view.members.find((m) => nodeId(m) === id);
  if (!member) return undefined;
  return view.effective.declaredServers.get(id) ?? declaredDataServers(view.effective.config).get(id) ?? { address: member, metadata: view.effective.config.serverMetadata.get(id) };
}

function withDataServerChange(status: ClusterStatus, view: AdminView, id: string, value: DataServerDeclaration | undefined): ClusterStatus {
  const changes: AdminChanges = status.adminChanges ?? NO_ADMIN_CHANGES;
  const dataServers = new Map(changes.dataServers);
  // The base is what the config declares now: an earlier change that still applies had the same base.
  const base = declaredDataServers(view.fileConfig).get(id);
  // Back to what the config declares (a server created then deleted): nothing left to remember.
  if (sameDataServer(base, value)) dataServers.delete(id);
  else dataServers.set(id, { value, base });
  return { ...status, adminChanges: { ...changes, dataServers } };
}

function withNamespaceChange(status: ClusterStatus, view: AdminView, name: string, value: NamespaceConfig | undefined): ClusterStatus {
  const changes: AdminChanges = status.adminChanges ?? NO_ADMIN_CHANGES;
  const namespaces = new Map(changes.namespaces);
  const base = view.fileConfig.namespaces.find((n) => n.name === name);
  if (sameNamespace(base, value)) namespaces.delete(name);
  else namespaces.set(name, { value, base });
  return { ...status, adminChanges: { ...changes, namespaces } };
}

function namespaceView(view: AdminView, ns: NamespaceConfig): NamespaceView {
  return { namespace: namespaceOf(ns), namespaceStatus: namespaceStatusOf(view.status.namespaces.get(ns.name)) };
}

function requireNamespace(view: AdminView, name: string): NamespaceConfig {
  const ns = view.effective.config.namespaces.find((n) => n.name === name);
  if (!ns) throw new OxiaError('NamespaceNotFound', `namespace "${name}" not found`);
  return ns;
}

function requireNamespaceName(name: string): void {
  if (!isValidNamespaceName(name)) throw invalidArgument(`"${name}" is not a valid namespace name (letters, digits, '.', '_', '-'; 1 to 253 characters)`);
}

function requireAddress(which: 'public' | 'internal', address: string): void {
  if (address.trim() === '') throw invalidArgument(`data server ${which} address must not be empty`);
  if (!isHostPort(address)) throw invalidArgument(`data server ${which} address "${address}" is not a host:port address`);
}

function requireAddressesFree(members: readonly NodeAddress[], address: NodeAddress, except: string | undefined): void {
  for (const m of members) {
    if (nodeId(m) === except) continue;
    if (m.public === address.public) throw new OxiaError('AlreadyExists', `public address ${address.public} is already used by data server "${nodeId(m)}"`);
    if (m.internal === address.internal) throw new OxiaError('AlreadyExists', `internal address ${address.internal} is already used by data server "${nodeId(m)}"`);
  }
}

function requireServersFor(view: AdminView, ns: NamespaceConfig): void {
  if (ns.replicationFactor > view.members.length) {
    throw new OxiaError('FailedPrecondition', `namespace "${ns.name}" has replicationFactor=${ns.replicationFactor} but only ${view.members.length} data servers are members`);
  }
}

