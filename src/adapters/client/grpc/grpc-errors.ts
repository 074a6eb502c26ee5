import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { parseGrpcError, parseRpcStatus, type ParsedGrpcError } from '../../grpc-protocol/error-status.js';
import type { Status as RpcStatus } from '../../../domain/wire/rpc_status.js';
import type { OxiaErrorKind } from '../errors.js';
import { RpcError } from '../internal/rpc-error.js';

/**
 * The kind of a failed call that carries no Oxia reason: what the gRPC status code says.
 * CANCELLED reaches here only when the server cancelled (our own cancellations are
 * recognised by their abort signal first), e.g. while shutting down: retryable.
 */
function kindOfCode(code: number): OxiaErrorKind {
  switch (code) {
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.CANCELLED:
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

/**
 * A grpc-js failure as the client's RpcError: the Oxia reason and leader hint from the
 * status trailer (read with the shared protocol table, grpc-protocol/error-status.ts), else the status code.
 */
export function rpcErrorOf(e: unknown, target: string): RpcError {
  if (e instanceof RpcError) return e;
  const se = e as Partial<ServiceError>;
  if (typeof se?.code !== 'number') {
    return new RpcError('Unavailable', `call to ${target} failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = parseGrpcError({ code: se.code, details: se.details ?? se.message ?? '', metadata: se.metadata as ServiceError['metadata'] });
  return rpcErrorOfParsed(parsed, se.message ?? 'no details', target);
}

/** A failed request's status from a ReadStream answer (ADR 0034), as rpcErrorOf reads a failed call's. */
export function rpcErrorOfStatus(status: RpcStatus, target: string): RpcError {
  return rpcErrorOfParsed(parseRpcStatus(status), 'no details', target);
}

function rpcErrorOfParsed(parsed: ParsedGrpcError, fallbackMessage: string, target: string): RpcError {
  const details = parsed.message !== '' ? parsed.message : fallbackMessage;
  // ReplicaDiverged travels only between storage nodes; a client reads it by its code (DATA_LOSS: Internal).
  const kind = parsed.kind === undefined || parsed.kind === 'ReplicaDiverged' ? kindOfCode(parsed.code) : parsed.kind;
  return new RpcError(kind, `${details} (from ${target})`, parsed.leaderHint);
}
