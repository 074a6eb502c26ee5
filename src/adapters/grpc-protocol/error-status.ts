/**
 * How an OxiaError looks on the wire, as one table both sides read: the servers
 * (adapters/grpc/status-mapping.ts) encode an error's kind with it, peers and the client
 * library read a received status back into a kind with it.
 *
 * Codes and ErrorInfo reasons follow Oxia (common/constant/errors.go) so that Oxia's
 * Go and Java clients classify our errors exactly as they classify Oxia's: a
 * google.rpc.Status holding one google.rpc.ErrorInfo (domain "oxia.io") travels in
 * the `grpc-status-details-bin` trailer, and a NodeIsNotLeader carries the leader
 * hint as ErrorInfo metadata {shard, leader}.
 */
import { status as GrpcCode } from '@grpc/grpc-js';
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { LeaderHint, OxiaErrorKind } from '../../domain/errors/oxia-error.js';
import { ErrorInfo, Status as RpcStatus } from '../../domain/wire/rpc_status.js';

export const OXIA_ERROR_DOMAIN = 'oxia.io';
export const STATUS_DETAILS_TRAILER = 'grpc-status-details-bin';
export const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';
export const METADATA_SHARD = 'shard';
export const METADATA_LEADER = 'leader';

export interface WireForm {
  readonly code: GrpcCode;
  readonly reason: string;
}

/**
 * Kind -> wire form. The first thirteen rows are Oxia's table. Our extra kinds:
 * - InvalidArgument: INVALID_ARGUMENT, as Oxia answers malformed requests (it sends no
 *   ErrorInfo there; ours adds one so our own client keeps the kind, which Oxia's clients
 *   ignore as an unknown reason).
 * - LimitExceeded: INVALID_ARGUMENT, not RESOURCE_EXHAUSTED. An oversized key or batch
 *   fails the same way however often it is sent, and RESOURCE_EXHAUSTED reads as a
 *   transient quota that generic gRPC retry policies retry; the reason keeps it apart.
 * - Closed: UNAVAILABLE with Oxia's RESOURCE_UNAVAILABLE reason, so that Oxia's clients
 *   treat a shard or server shutting down as retryable, which it is. Read back it
 *   is therefore ResourceUnavailable: for a caller both mean "retry, maybe elsewhere".
 * - Unauthenticated, PermissionDenied: the standard gRPC codes (Oxia answers a bad
 *   token with a bare UNAUTHENTICATED); the ErrorInfo only keeps the kind for our client.
 * - NotFound, AlreadyExists, FailedPrecondition: the admin API's answers, with the codes
 *   Oxia's coordinator gives them (it sends them bare, with a message naming the object).
 * - DiskFull, StorageFailed: a write the shard cannot make durable (ADR 0029). RESOURCE_EXHAUSTED
 *   for a full disk, UNAVAILABLE for other I/O errors, each with a reason of its own so that a
 *   client fails fast instead of retrying into its timeout (Oxia's clients see an unknown reason
 *   and go by the code).
 * - ReplicaDiverged: DATA_LOSS, a follower's answer to its leader's Replicate stream when
 *   the CRC chain or the state digest disagree (ADR 0031); only oxia-ts nodes send it.
 */
const WIRE_FORMS: Readonly<Record<OxiaErrorKind, WireForm>> = {
  Aborted: { code: GrpcCode.ABORTED, reason: 'ABORTED' },
  InvalidSessionTimeout: { code: GrpcCode.INVALID_ARGUMENT, reason: 'INVALID_SESSION_TIMEOUT' },
  SessionNotFound: { code: GrpcCode.NOT_FOUND, reason: 'SESSION_NOT_FOUND' },
  NamespaceNotFound: { code: GrpcCode.NOT_FOUND, reason: 'NAMESPACE_NOT_FOUND' },
  ShardNotFound: { code: GrpcCode.NOT_FOUND, reason: 'SHARD_NOT_FOUND' },
  InvalidTerm: { code: GrpcCode.FAILED_PRECONDITION, reason: 'INVALID_TERM' },
  InvalidStatus: { code: GrpcCode.FAILED_PRECONDITION, reason: 'INVALID_STATUS' },
  NotificationsNotEnabled: { code: GrpcCode.FAILED_PRECONDITION, reason: 'NOTIFICATIONS_NOT_ENABLED' },
  NodeIsNotMember: { code: GrpcCode.ABORTED, reason: 'NODE_IS_NOT_MEMBER' },
  NodeIsNotLeader: { code: GrpcCode.ABORTED, reason: 'NODE_IS_NOT_LEADER' },
  NotInitialized: { code: GrpcCode.UNAVAILABLE, reason: 'NOT_INITIALIZED' },
  ResourceConflict: { code: GrpcCode.FAILED_PRECONDITION, reason: 'RESOURCE_CONFLICT' },
  ResourceUnavailable: { code: GrpcCode.UNAVAILABLE, reason: 'RESOURCE_UNAVAILABLE' },
  InvalidArgument: { code: GrpcCode.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT' },
  LimitExceeded: { code: GrpcCode.INVALID_ARGUMENT, reason: 'LIMIT_EXCEEDED' },
  Closed: { code: GrpcCode.UNAVAILABLE, reason: 'RESOURCE_UNAVAILABLE' },
  Unauthenticated: { code: GrpcCode.UNAUTHENTICATED, reason: 'UNAUTHENTICATED' },
  PermissionDenied: { code: GrpcCode.PERMISSION_DENIED, reason: 'PERMISSION_DENIED' },
  NotFound: { code: GrpcCode.NOT_FOUND, reason: 'NOT_FOUND' },
  AlreadyExists: { code: GrpcCode.ALREADY_EXISTS, reason: 'ALREADY_EXISTS' },
  FailedPrecondition: { code: GrpcCode.FAILED_PRECONDITION, reason: 'FAILED_PRECONDITION' },
  DiskFull: { code: GrpcCode.RESOURCE_EXHAUSTED, reason: 'DISK_FULL' },
  StorageFailed: { code: GrpcCode.UNAVAILABLE, reason: 'STORAGE_FAILED' },
  ReplicaDiverged: { code: GrpcCode.DATA_LOSS, reason: 'REPLICA_DIVERGED' },
};

/** Reason -> kind; where two kinds share a reason (Closed), Oxia's kind wins. */
const KINDS_BY_REASON: ReadonlyMap<string, OxiaErrorKind> = new Map(
  (Object.entries(WIRE_FORMS) as [OxiaErrorKind, WireForm][])
    .filter(([kind]) => kind !== 'Closed')
    .map(([kind, form]) => [form.reason, kind]),
);

/** The status code and ErrorInfo reason an error of this kind travels with. */
export function wireFormOf(kind: OxiaErrorKind): WireForm {
  return WIRE_FORMS[kind];
}

/** What a gRPC error says once read back. */
export interface ParsedGrpcError {
  readonly code: GrpcCode;
  readonly message: string;
  /** Undefined when the error carries no ErrorInfo of ours that names a known reason. */
  readonly kind: OxiaErrorKind | undefined;
  /** The ErrorInfo reason as sent (also when unknown to us), else undefined. */
  readonly reason: string | undefined;
  readonly leaderHint: LeaderHint | undefined;
}

/** Reads code, kind and leader hint out of a grpc-js ServiceError (or a status-like object). */
export function parseGrpcError(error: Pick<ServiceError, 'code' | 'details' | 'metadata'>): ParsedGrpcError {
  return parsed(error.code, error.details, findOxiaErrorInfo(error.metadata));
}

/** The same, for a status that travelled as a message (oxiats.client.v1 ReadStream answers, ADR 0034). */
export function parseRpcStatus(status: RpcStatus): ParsedGrpcError {
  return parsed(status.code, status.message, oxiaErrorInfoIn(status));
}

function parsed(code: GrpcCode, message: string, info: ErrorInfo | undefined): ParsedGrpcError {
  const reason = info?.reason;
  let kind = reason === undefined ? undefined : KINDS_BY_REASON.get(reason);
  // Oxia itself sends bare INVALID_ARGUMENT statuses for malformed requests.
  if (kind === undefined && info === undefined && code === GrpcCode.INVALID_ARGUMENT) kind = 'InvalidArgument';
  return { code, message, kind, reason, leaderHint: info ? leaderHintOf(info) : undefined };
}

/** The reverse mapping as a value: an OxiaError when the error names a kind, else undefined. */
export function grpcErrorToOxiaError(error: Pick<ServiceError, 'code' | 'details' | 'metadata'>): OxiaError | undefined {
  const parsed = parseGrpcError(error);
  if (parsed.kind === undefined) return undefined;
  return new OxiaError(parsed.kind, parsed.message, parsed.leaderHint);
}

function findOxiaErrorInfo(metadata: Metadata | undefined): ErrorInfo | undefined {
  if (!metadata) return undefined;
  for (const value of metadata.get(STATUS_DETAILS_TRAILER)) {
    if (typeof value === 'string') continue;
    let status: RpcStatus;
    try {
      status = RpcStatus.decode(value);
    } catch {
      continue; // a peer's garbage trailer is no reason to lose the status code itself
    }
    const info = oxiaErrorInfoIn(status);
    if (info !== undefined) return info;
  }
  return undefined;
}

function oxiaErrorInfoIn(status: RpcStatus): ErrorInfo | undefined {
  for (const any of status.details) {
    if (any.typeUrl !== ERROR_INFO_TYPE_URL) continue;
    try {
      const info = ErrorInfo.decode(any.value);
      if (info.domain === OXIA_ERROR_DOMAIN) return info;
    } catch {
      continue;
    }
  }
  return undefined;
}

function leaderHintOf(info: ErrorInfo): LeaderHint | undefined {
  const leader = info.metadata[METADATA_LEADER];
  const shard = info.metadata[METADATA_SHARD];
  if (!leader || shard === undefined || !/^-?\d+$/.test(shard)) return undefined;
  return { shard: BigInt(shard), leader };
}
