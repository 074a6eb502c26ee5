/**
 * Operating errors that cross layers as values with a kind. The gRPC adapter maps
 * each kind to one status code and an ErrorInfo reason (see adapters/grpc-protocol/error-status.ts);
 * nothing else decides how an error looks on the wire.
 *
 * Per-operation outcomes (KEY_NOT_FOUND, UNEXPECTED_VERSION_ID, SESSION_DOES_NOT_EXIST)
 * are not errors: they travel inside responses as Status values.
 */
export type OxiaErrorKind =
  | 'InvalidArgument' // malformed request: empty key, inverted range, bad shard id, ...
  | 'LimitExceeded' // key, value, request or batch over a configured limit
  | 'NamespaceNotFound'
  | 'ShardNotFound'
  | 'SessionNotFound'
  | 'InvalidSessionTimeout'
  | 'NotificationsNotEnabled'
  | 'NodeIsNotLeader'
  | 'NodeIsNotMember'
  | 'NotInitialized'
  | 'InvalidTerm'
  | 'InvalidStatus'
  | 'ResourceConflict'
  | 'ResourceUnavailable'
  | 'Aborted'
  | 'Unauthenticated' // no credentials, or credentials that do not verify
  | 'PermissionDenied' // a verified principal without the right it needs
  | 'NotFound' // an admin API object (data server, shard) that does not exist
  | 'AlreadyExists' // an admin API object created twice
  | 'FailedPrecondition' // an admin API change the cluster cannot take as it is (too few servers, ...)
  | 'ReplicaDiverged' // a replica's log or state differs from its leader's (ADR 0031): it is rebuilt from a snapshot
  | 'Closed' // the shard or server is shutting down
  | 'DiskFull' // a write cannot be made durable: no space left (or below --min-free-disk-bytes)
  | 'StorageFailed'; // a write cannot be made durable: another I/O error of the log or the store

export interface LeaderHint {
  readonly shard: bigint;
  readonly leader: string;
}

export class OxiaError extends Error {
  override readonly name = 'OxiaError';
  constructor(
    readonly kind: OxiaErrorKind,
    message: string,
    readonly leaderHint?: LeaderHint,
  ) {
    super(message);
  }
}

export function isOxiaError(e: unknown, kind?: OxiaErrorKind): e is OxiaError {
  return e instanceof OxiaError && (kind === undefined || e.kind === kind);
}

export const invalidArgument = (message: string): OxiaError => new OxiaError('InvalidArgument', message);

/** Errors that say the shard's files cannot take writes now; the shard recovers by itself once they can (ADR 0029). */
export function isStorageFailure(e: unknown): e is OxiaError {
  return isOxiaError(e, 'DiskFull') || isOxiaError(e, 'StorageFailed');
}
