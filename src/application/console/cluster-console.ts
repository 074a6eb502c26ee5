import { inject, injectable } from 'inversify';
import type { ClusterStatus } from '../../domain/cluster/cluster-status.js';
import { nodeId, type NodeAddress } from '../../domain/cluster/node-address.js';
import { parseSessionKey, SESSIONS_PREFIX } from '../../domain/keys/internal-keys.js';
import { invalidArgument, isOxiaError, OxiaError } from '../../domain/errors/oxia-error.js';
import type { Principal } from '../../domain/security/principal.js';
import { ServingStatus } from '../../domain/wire/replication.js';
import { ActiveCoordinator } from '../coordinator/active-coordinator.js';
import { LeaseSettings } from '../coordinator/coordinator-lease.js';
import { CoordinatorSettings } from '../coordinator/coordinator-settings.js';
import type { Coordinator } from '../coordinator/coordinator.js';
import { AccessPolicySource } from '../ports/access-policy-source.js';
import { Clock } from '../ports/clock.js';
import { KeyReader, type ReadTarget, type RecordView } from '../ports/key-reader.js';
import { StorageNodeClient } from '../ports/storage-node-client.js';
import { EVERY_NAMESPACE, requireAdminRight } from '../security/admin-right.js';
import { ClusterJournal } from './cluster-journal.js';
import { clusterView, consoleShardLabel, partitionKeyInRange, prefixEnd, type ConsoleView, type ReplicaReport } from './console-view.js';

/** How long the replicas' answers may take before the page is shown without them. */
const REPLICA_QUERY_TIMEOUT_MS = 1_000;
/** A snapshot serves every viewer asking within this window (several tabs, SSE ticks). */
const SNAPSHOT_REUSE_MS = 500;
/** Sessions are counted through the data API: less often than the page refreshes. */
const SESSION_COUNT_REUSE_MS = 5_000;
/** Keys listed per page of the key browser. */
export const KEY_PAGE_SIZE = 200;
/** Events shown on the page. */
const EVENTS_SHOWN = 50;

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function roleOf(status: ServingStatus): 'leader' | 'follower' | 'fenced' | 'not a member' {
  switch (status) {
    case ServingStatus.LEADER:
      return 'leader';
    case ServingStatus.FOLLOWER:
      return 'follower';
    case ServingStatus.FENCED:
      return 'fenced';
    default:
      return 'not a member';
  }
}

export interface KeyListing {
  readonly namespace: string;
  readonly prefix: string;
  readonly keys: readonly string[];
  /** More keys follow the last one listed (listing resumes after it). */
  readonly truncated: boolean;
}

/**
 * The web console's use cases (ADR 0028): the cluster page's view, and the read-only key
 * browser. Every call needs the `admin` right (on every namespace for the cluster page, on the
 * namespace for its keys), as the admin API's calls do. The view is built from what the
 * acting coordinator holds, plus each replica's GetStatus (head and commit offsets) and the
 * sessions counted through the data API; a standby coordinator shows that it stands by.
 */
@injectable()
export class ClusterConsole {
  private snapshotCache: { readonly atMs: number; readonly view: Promise<ConsoleView> } | undefined;
  /** The last sessions counted, and when a count was last started (monotonic ms). */
  private sessions: ReadonlyMap<string, number> = new Map();
  private sessionsCountedAtMs: number | undefined;

  constructor(
    @inject(ActiveCoordinator) private readonly active: ActiveCoordinator,
    @inject(StorageNodeClient) private readonly nodes: StorageNodeClient,
    @inject(KeyReader) private readonly keys: KeyReader,
    @inject(ClusterJournal) private readonly journal: ClusterJournal,
    @inject(AccessPolicySource) private readonly policies: AccessPolicySource,
    @inject(Clock) private readonly clock: Clock,
    @inject(CoordinatorSettings) private readonly settings: CoordinatorSettings,
    @inject(LeaseSettings) private readonly lease: LeaseSettings,
  ) {}

  /** Whether `caller` may see the cluster page (PermissionDenied if not). */
  authorizeClusterPage(caller: Principal): void {
    requireAdminRight(this.policies.current(), caller, EVERY_NAMESPACE);
  }

  /** The cluster page's content; `authorization` is the caller's, forwarded when sessions are counted. */
  async view(caller: Principal, authorization: string | undefined): Promise<ConsoleView> {
    this.authorizeClusterPage(caller);
    const now = this.clock.monotonicMs();
    const cached = this.snapshotCache;
    if (cached && now - cached.atMs < SNAPSHOT_REUSE_MS) return cached.view;
    const view = this.build(authorization);
    this.snapshotCache = { atMs: now, view };
    view.catch(() => {
      if (this.snapshotCache?.view === view) this.snapshotCache = undefined;
    });
    return view;
  }

  /** The namespaces on which `caller` may browse keys (admin right), by name. */
  namespaces(caller: Principal): string[] {
    const acting = this.coordinatorOrUndefined();
    if (!('coordinator' in acting)) return [];
    const policy = this.policies.current();
    return [...acting.coordinator.consoleFacts().view.status.namespaces.keys()]
      .filter((ns) => {
        try {
          requireAdminRight(policy, caller, ns);
          return true;
        } catch {
          return false;
        }
      })
      .sort();
  }

  /** Runs `listener` after each journal entry (pushes the page at once); returns the unsubscribe. */
  watchEvents(listener: () => void): () => void {
    return this.journal.watch(listener);
  }

  /** Keys of `namespace` under `prefix` (one level of a hierarchical namespace), after `after` when paging. */
  async listKeys(caller: Principal, authorization: string | undefined, namespace: string, prefix: string, after?: string): Promise<KeyListing> {
    const target = this.readTarget(caller, authorization, namespace);
    const from = after !== undefined && after >= prefix ? `${after}\u0000` : prefix;
    const keys = (await this.keys.list(target, from, prefixEnd(prefix), { limit: KEY_PAGE_SIZE + 1 })).filter((k) => k.startsWith(prefix));
    return { namespace, prefix, keys: keys.slice(0, KEY_PAGE_SIZE), truncated: keys.length > KEY_PAGE_SIZE };
  }

  /** The record at `key` with its version fields, or undefined. */
  async getRecord(caller: Principal, authorization: string | undefined, namespace: string, key: string): Promise<RecordView | undefined> {
    if (key === '') throw invalidArgument('key must not be empty');
    return this.keys.get(this.readTarget(caller, authorization, namespace), key);
  }

  // ------------------------------------------------------------------ internals

  private coordinatorOrUndefined(): { coordinator: Coordinator } | { reason: string } {
    try {
      return { coordinator: this.active.acting() };
    } catch (e) {
      if (isOxiaError(e, 'ResourceUnavailable')) return { reason: e.message };
      throw e;
    }
  }

  private readTarget(caller: Principal, authorization: string | undefined, namespace: string): ReadTarget {
    if (namespace === '') throw invalidArgument('namespace must not be empty');
    requireAdminRight(this.policies.current(), caller, namespace);
    const acting = this.coordinatorOrUndefined();
    if (!('coordinator' in acting)) throw new OxiaError('ResourceUnavailable', acting.reason);
    const facts = acting.coordinator.consoleFacts();
    if (!facts.view.status.namespaces.has(namespace)) throw new OxiaError('NamespaceNotFound', `namespace "${namespace}" does not exist`);
    const up = facts.nodes.find((n) => n.state === 'Running');
    if (!up) throw new OxiaError('ResourceUnavailable', 'no storage node is running');
    return { serviceAddress: up.node.public, namespace, authorization };
  }

  private async build(authorization: string | undefined): Promise<ConsoleView> {
    const nowMs = this.clock.nowMs();
    const events = this.journal.recent(EVENTS_SHOWN);
    const acting = this.coordinatorOrUndefined();
    if (!('coordinator' in acting)) return { kind: 'standby', generatedAtMs: nowMs, coordinator: this.lease.holder, reason: acting.reason, events };
    const facts = acting.coordinator.consoleFacts();
    const running = new Set(facts.nodes.filter((n) => n.state === 'Running').map((n) => nodeId(n.node)));
    this.refreshSessionCounts(facts, authorization);
    const replicas = await this.replicaReports(facts.view.status, running);
    const sessions = this.sessions;
    return clusterView({
      nowMs,
      coordinator: this.lease.holder,
      healthCheck: { intervalMs: this.settings.healthCheckIntervalMs, failureThreshold: this.settings.healthCheckFailureThreshold },
      status: facts.view.status,
      members: facts.view.members,
      nodes: facts.nodes,
      replicas,
      sessions,
      events,
      balancer: facts.balancer,
    });
  }

  /** GetStatus of every replica of every shard on a running node, in parallel, bounded in time. */
  private async replicaReports(status: ClusterStatus, running: ReadonlySet<string>): Promise<Map<string, Map<string, ReplicaReport>>> {
    const deadline = AbortSignal.timeout(REPLICA_QUERY_TIMEOUT_MS);
    const reports = new Map<string, Map<string, ReplicaReport>>();
    const calls: Promise<void>[] = [];
    for (const [namespace, ns] of status.namespaces) {
      for (const [shard, meta] of ns.shards) {
        const byNode = new Map<string, ReplicaReport>();
        reports.set(consoleShardLabel(namespace, shard), byNode);
        for (const node of [...meta.ensemble, ...meta.removedNodes]) {
          const id = nodeId(node);
          if (!running.has(id)) {
            byNode.set(id, { ok: false, error: 'the server is down' });
            continue;
          }
          calls.push(this.report(node, shard, deadline).then((r) => void byNode.set(id, r)));
        }
      }
    }
    await Promise.all(calls);
    return reports;
  }

  private async report(node: NodeAddress, shard: bigint, signal: AbortSignal): Promise<ReplicaReport> {
    try {
      const r = await this.nodes.getStatus(node, { shard }, signal);
      return { ok: true, role: roleOf(r.status), term: r.term, headOffset: r.headOffset, commitOffset: r.commitOffset };
    } catch (e) {
      return { ok: false, error: signal.aborted ? `no answer within ${REPLICA_QUERY_TIMEOUT_MS} ms` : describe(e) };
    }
  }

  /** Open sessions per shard: the session records ("__oxia/session/<id>") each shard holds, read through the data API. */
  /**
   * Counts again in the background when the last count is older than SESSION_COUNT_REUSE_MS: the
   * page shows the last count and never waits for the data API.
   */
  private refreshSessionCounts(facts: ReturnType<Coordinator['consoleFacts']>, authorization: string | undefined): void {
    const now = this.clock.monotonicMs();
    if (this.sessionsCountedAtMs !== undefined && now - this.sessionsCountedAtMs < SESSION_COUNT_REUSE_MS) return;
    this.sessionsCountedAtMs = now;
    void this.countSessions(facts, authorization).then((counts) => (this.sessions = counts));
  }

  private async countSessions(facts: ReturnType<Coordinator['consoleFacts']>, authorization: string | undefined): Promise<ReadonlyMap<string, number>> {
    const counts = new Map<string, number>();
    const up = facts.nodes.find((n) => n.state === 'Running');
    if (!up) return counts;
    const calls: Promise<void>[] = [];
    for (const [namespace, ns] of facts.view.status.namespaces) {
      for (const [shard, meta] of ns.shards) {
        if (meta.status !== 'SteadyState' || meta.split) continue;
        const partitionKey = partitionKeyInRange(meta.int32HashRange);
        if (partitionKey === undefined) continue;
        const target: ReadTarget = { serviceAddress: up.node.public, namespace, authorization };
        calls.push(
          this.keys.list(target, SESSIONS_PREFIX, prefixEnd(SESSIONS_PREFIX), { partitionKey, includeInternalKeys: true }).then(
            (keys) => void counts.set(consoleShardLabel(namespace, shard), keys.filter((k) => parseSessionKey(k) !== undefined).length),
            () => undefined, // not countable now (no leader, no right): shown as unknown
          ),
        );
      }
    }
    await Promise.all(calls);
    return counts;
  }
}
