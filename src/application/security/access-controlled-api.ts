import { inject, injectable } from 'inversify';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { hasAnyRight, scopeOf } from '../../domain/security/access-policy.js';
import type { AccessPolicy, KeyScope, Right } from '../../domain/security/access-policy.js';
import { keyInScope, rangeInScope, rangeTouchesScope } from '../../domain/security/key-scope.js';
import type { Principal } from '../../domain/security/principal.js';
import type { KeySorting } from '../../domain/sharding/namespace.js';
import { KeyComparisonType, NotificationType, Status } from '../../domain/wire/client.js';
import type {
  CloseSessionRequest,
  CreateSessionRequest,
  CreateSessionResponse,
  GetRequest,
  GetResponse,
  GetSequenceUpdatesRequest,
  GetSequenceUpdatesResponse,
  ListRequest,
  ListResponse,
  NotificationBatch,
  NotificationsRequest,
  RangeScanRequest,
  RangeScanResponse,
  ReadRequest,
  ReadResponse,
  SessionHeartbeat,
  ShardAssignments,
  WriteRequest,
  WriteResponse,
} from '../../domain/wire/client.js';
import type { ReadShardRequest, ReadShardResponse } from '../../domain/wire/backup.js';
import { ClientApi } from '../client-api.js';
import { AccessPolicySource } from '../ports/access-policy-source.js';

/**
 * The data API with the caller's rights checked: what the public gRPC handlers call,
 * with the principal the Authenticator gave them. Without a policy every call goes
 * straight through; with one, the call is checked against the rights of the shard's
 * namespace and, under a key-prefix grant, against the keys it names or returns.
 * A denied call fails with PermissionDenied before anything is written; a read that
 * would return a key outside the caller's scope fails instead of being clipped.
 *
 * Sessions answer only to the principal that created them, with or without a
 * policy (the session manager checks the owner recorded with the session).
 */
@injectable()
export class AccessControlledApi {
  constructor(
    @inject(ClientApi) private readonly api: ClientApi,
    @inject(AccessPolicySource) private readonly policies: AccessPolicySource,
  ) {}

  watchAssignments(caller: Principal, namespace: string, signal: AbortSignal): AsyncIterable<ShardAssignments> {
    const policy = this.policies.current();
    const name = namespace === '' ? 'default' : namespace;
    // Any right on a namespace includes finding its shards.
    if (policy && !hasAnyRight(policy, caller, name)) {
      throw new OxiaError('PermissionDenied', `principal "${caller.name}" has no right on namespace "${name}"`);
    }
    return this.api.watchAssignments(namespace, signal);
  }

  write(caller: Principal, shard: bigint, request: WriteRequest, namespace?: string): Promise<WriteResponse> {
    const policy = this.policies.current();
    if (policy) {
      const { scope, sorting, ns } = this.scope(policy, caller, shard, 'write', namespace);
      for (const put of request.puts) requireKey(caller, ns, 'write', scope, put.key);
      for (const del of request.deletes) requireKey(caller, ns, 'write', scope, del.key);
      for (const range of request.deleteRanges) requireRange(caller, ns, 'write', scope, sorting, range.startInclusive, range.endExclusive);
    }
    return this.api.write(shard, request, namespace);
  }

  read(caller: Principal, shard: bigint, request: ReadRequest, signal: AbortSignal): AsyncIterable<ReadResponse> {
    const policy = this.policies.current();
    if (!policy) return this.api.read(shard, request, signal);
    const { scope, ns } = this.scope(policy, caller, shard, 'read');
    if (scope.kind === 'all') return this.api.read(shard, request, signal);
    // An exact get names its key; the others (floor, ceiling, by secondary index) are
    // checked on the key they find.
    for (const get of request.gets) if (namesItsKey(get)) requireKey(caller, ns, 'read', scope, get.key);
    return checked(this.api.read(shard, request, signal), (response) => {
      for (const get of response.gets) requireFound(caller, ns, scope, get);
    });
  }

  list(caller: Principal, shard: bigint, request: ListRequest, signal: AbortSignal): AsyncIterable<ListResponse> {
    const policy = this.policies.current();
    if (!policy) return this.api.list(shard, request, signal);
    const { scope, sorting, ns } = this.scope(policy, caller, shard, 'read');
    if (scope.kind === 'all') return this.api.list(shard, request, signal);
    requireScannable(caller, ns, scope, sorting, request);
    if (request.secondaryIndexName === undefined) return this.api.list(shard, request, signal);
    return checked(this.api.list(shard, request, signal), (response) => {
      for (const key of response.keys) requireKey(caller, ns, 'read', scope, key);
    });
  }

  rangeScan(caller: Principal, shard: bigint, request: RangeScanRequest, signal: AbortSignal): AsyncIterable<RangeScanResponse> {
    const policy = this.policies.current();
    if (!policy) return this.api.rangeScan(shard, request, signal);
    const { scope, sorting, ns } = this.scope(policy, caller, shard, 'read');
    if (scope.kind === 'all') return this.api.rangeScan(shard, request, signal);
    requireScannable(caller, ns, scope, sorting, request);
    if (request.secondaryIndexName === undefined) return this.api.rangeScan(shard, request, signal);
    return checked(this.api.rangeScan(shard, request, signal), (response) => {
      for (const record of response.records) requireFound(caller, ns, scope, record);
    });
  }

  sequenceUpdates(caller: Principal, request: GetSequenceUpdatesRequest, signal: AbortSignal): AsyncIterable<GetSequenceUpdatesResponse> {
    const policy = this.policies.current();
    if (policy) {
      const { scope, ns } = this.scope(policy, caller, request.shard, 'read');
      requireKey(caller, ns, 'read', scope, request.key);
    }
    return this.api.sequenceUpdates(request, signal);
  }

  notifications(caller: Principal, request: NotificationsRequest, signal: AbortSignal): AsyncIterable<NotificationBatch> {
    const policy = this.policies.current();
    if (!policy) return this.api.notifications(request, signal);
    const { scope, sorting } = this.scope(policy, caller, request.shard, 'read');
    if (scope.kind === 'all') return this.api.notifications(request, signal);
    return onlyInScope(this.api.notifications(request, signal), scope, sorting);
  }

  createSession(caller: Principal, request: CreateSessionRequest): Promise<CreateSessionResponse> {
    const policy = this.policies.current();
    if (policy) this.scope(policy, caller, request.shard, 'write');
    return this.api.createSession(request, ownerName(caller));
  }

  keepAlive(caller: Principal, request: SessionHeartbeat): Promise<void> {
    const policy = this.policies.current();
    if (policy) this.scope(policy, caller, request.shard, 'write');
    return this.api.keepAlive(request, ownerName(caller));
  }

  closeSession(caller: Principal, request: CloseSessionRequest): Promise<void> {
    const policy = this.policies.current();
    if (policy) this.scope(policy, caller, request.shard, 'write');
    return this.api.closeSession(request, ownerName(caller));
  }

  /**
   * A backup reads every record of the shard, so it needs `read` on the whole namespace: a
   * grant without key prefix, or `admin` (which implies read). A read limited to prefixes
   * is refused, not clipped: a backup missing records would look complete.
   */
  copyShard(caller: Principal, request: ReadShardRequest, signal: AbortSignal): AsyncIterable<ReadShardResponse> {
    const policy = this.policies.current();
    if (policy) {
      const { scope, ns } = this.scope(policy, caller, request.shard, 'read', request.namespace);
      if (scope.kind !== 'all') {
        throw denied(`principal "${caller.name}" may not back up namespace "${ns}": its right "read" is limited to ${describe(scope)}`);
      }
    }
    return this.api.copyShard(request, signal);
  }

  /** The caller's keys for `right` on the shard's namespace; PermissionDenied when it has none. */
  private scope(policy: AccessPolicy, caller: Principal, shard: bigint, right: Right, namespace?: string): { scope: KeyScope; sorting: KeySorting; ns: string } {
    const { namespace: ns, keySorting } = this.api.shardNamespace(shard, namespace);
    const scope = scopeOf(policy, caller, ns, right);
    if (scope.kind === 'none') throw denied(`principal "${caller.name}" lacks the right "${right}" on namespace "${ns}"`);
    return { scope, sorting: keySorting, ns };
  }
}

/** Sessions of anonymous callers have no owner: without credentials there is no one to tell apart. */
function ownerName(caller: Principal): string | undefined {
  return caller.user === undefined && caller.certificateSubject === undefined ? undefined : caller.name;
}

function denied(message: string): OxiaError {
  return new OxiaError('PermissionDenied', message);
}

function describe(scope: KeyScope): string {
  return scope.kind === 'prefixes' ? scope.prefixes.map((p) => `"${p}"`).join(', ') : 'no key';
}

function requireKey(caller: Principal, ns: string, right: Right, scope: KeyScope, key: string): void {
  if (!keyInScope(scope, key)) {
    throw denied(`principal "${caller.name}" has the right "${right}" on namespace "${ns}" only under ${describe(scope)}; key "${key}" is outside`);
  }
}

function requireRange(caller: Principal, ns: string, right: Right, scope: KeyScope, sorting: KeySorting, start: string, end: string): void {
  if (!rangeInScope(scope, sorting, start, end)) {
    throw denied(
      `principal "${caller.name}" has the right "${right}" on namespace "${ns}" only under ${describe(scope)}; the range ["${start}", "${end}") reaches outside`,
    );
  }
}

function requireScannable(caller: Principal, ns: string, scope: KeyScope, sorting: KeySorting, request: ListRequest | RangeScanRequest): void {
  if (request.includeInternalKeys) throw denied(`principal "${caller.name}" may not read internal keys of namespace "${ns}": its right is limited to ${describe(scope)}`);
  // A secondary index range is over index keys, not record keys: its results are checked instead.
  if (request.secondaryIndexName === undefined) requireRange(caller, ns, 'read', scope, sorting, request.startInclusive, request.endExclusive);
}

function namesItsKey(get: GetRequest): boolean {
  return get.comparisonType === KeyComparisonType.EQUAL && (get.secondaryIndexName === undefined || get.secondaryIndexName === '');
}

function requireFound(caller: Principal, ns: string, scope: KeyScope, found: GetResponse): void {
  if (found.status !== Status.OK || found.key === undefined) return;
  requireKey(caller, ns, 'read', scope, found.key);
}

/** The responses of `source`, each passed through `check` before it goes out. */
async function* checked<T>(source: AsyncIterable<T>, check: (response: T) => void): AsyncIterable<T> {
  for await (const response of source) {
    check(response);
    yield response;
  }
}

/** Notification batches with the keys outside the scope left out; batches left empty are skipped. */
async function* onlyInScope(source: AsyncIterable<NotificationBatch>, scope: KeyScope, sorting: KeySorting): AsyncIterable<NotificationBatch> {
  for await (const batch of source) {
    const notifications = batch.notifications.filter((entry) => {
      const key = entry.key ?? '';
      const n = entry.value;
      if (n?.type === NotificationType.KEY_RANGE_DELETED) return rangeTouchesScope(scope, sorting, key, n.keyRangeLast ?? '');
      return keyInScope(scope, key);
    });
    if (notifications.length > 0) yield { ...batch, notifications };
  }
}
