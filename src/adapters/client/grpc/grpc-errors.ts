import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ErrorInfo, Status as RpcStatus } from '../../../domain/wire/rpc_status.js';
import type { OxiaErrorKind } from '../errors.js';
import { RpcError, type LeaderHint } from '../internal/rpc-error.js';

/**
 * Reads a failed call's status: Oxia servers put a google.rpc.ErrorInfo (domain
 * "oxia.io") in the grpc-status-details-bin trailer, whose reason names the error and
 * whose metadata carries the leader hint ("shard", "leader") of not-leader errors.
 * Without one, the gRPC status code decides.
 *
 * TODO(status-mapping): parse with src/adapters/grpc/status-mapping.ts once it lands.
 */
const REASONS: Record<string, OxiaErrorKind> = {
  ABORTED: 'Aborted',
  INVALID_SESSION_TIMEOUT: 'InvalidSessionTimeout',
  SESSION_NOT_FOUND: 'SessionNotFound',
  NAMESPACE_NOT_FOUND: 'NamespaceNotFound',
  SHARD_NOT_FOUND: 'ShardNotFound',
  INVALID_TERM: 'InvalidTerm',
  INVALID_STATUS: 'InvalidStatus',
  NOTIFICATIONS_NOT_ENABLED: 'NotificationsNotEnabled',
  NODE_IS_NOT_MEMBER: 'NodeIsNotMember',
  NODE_IS_NOT_LEADER: 'NodeIsNotLeader',
  NOT_INITIALIZED: 'NotInitialized',
  RESOURCE_CONFLICT: 'ResourceConflict',
  RESOURCE_UNAVAILABLE: 'ResourceUnavailable',
  INVALID_ARGUMENT: 'InvalidArgument',
  LIMIT_EXCEEDED: 'LimitExceeded',
  CLOSED: 'Closed',
};

function kindOfCode(code: number): OxiaErrorKind {
  switch (code) {
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.CANCELLED: // the server cancelled the call (shutting down); our own cancels never get here
      return 'Unavailable';
    case GrpcStatus.ABORTED:
      return 'Aborted';
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 'Timeout';
    case GrpcStatus.UNAUTHENTICATED:
      return 'Unauthenticated';
    case GrpcStatus.PERMISSION_DENIED:
      return 'PermissionDenied';
    case GrpcStatus.INVALID_ARGUMENT:
      return 'InvalidArgument';
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 'LimitExceeded';
    case GrpcStatus.INTERNAL:
    case GrpcStatus.UNIMPLEMENTED:
    case GrpcStatus.DATA_LOSS:
      return 'Internal';
    default:
      return 'Unknown';
  }
}

function errorInfoOf(e: ServiceError): ErrorInfo | undefined {
  const raw = e.metadata?.get('grpc-status-details-bin')[0];
  if (raw === undefined || typeof raw === 'string') return undefined;
  try {
    for (const any of RpcStatus.decode(raw).details) {
      if (any.typeUrl.endsWith('/google.rpc.ErrorInfo')) {
        const info = ErrorInfo.decode(any.value);
        if (info.domain === 'oxia.io' || info.domain === '') return info;
      }
    }
  } catch {
    // A malformed trailer is ignored; the status code still classifies the error.
  }
  return undefined;
}

function leaderHintOf(info: ErrorInfo): LeaderHint | undefined {
  const leader = info.metadata['leader'];
  const shard = info.metadata['shard'];
  if (leader === undefined || leader === '' || shard === undefined || !/^-?\d+$/.test(shard)) return undefined;
  return { shard: BigInt(shard), leader };
}

export function rpcErrorOf(e: unknown, target: string): RpcError {
  if (e instanceof RpcError) return e;
  const se = e as Partial<ServiceError>;
  if (typeof se?.code !== 'number') {
    return new RpcError('Unavailable', `call to ${target} failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const details = se.details !== undefined && se.details !== '' ? se.details : (se.message ?? 'no details');
  const info = errorInfoOf(se as ServiceError);
  const kind = (info !== undefined ? REASONS[info.reason] : undefined) ?? kindOfCode(se.code);
  const hint = info !== undefined ? leaderHintOf(info) : undefined;
  return new RpcError(kind, `${details} (from ${target})`, hint);
}
