/**
 * The server side of the error mapping: an OxiaError (or anything thrown below a
 * handler) as the status a grpc-js handler ends its call with. The kind -> code/reason
 * table itself is protocol both sides share (grpc-protocol/error-status.ts).
 */
import { Metadata, status as GrpcCode } from '@grpc/grpc-js';
import type { StatusObject } from '@grpc/grpc-js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { ErrorInfo, Status as RpcStatus } from '../../domain/wire/rpc_status.js';
import {
  ERROR_INFO_TYPE_URL,
  METADATA_LEADER,
  METADATA_SHARD,
  OXIA_ERROR_DOMAIN,
  STATUS_DETAILS_TRAILER,
  wireFormOf,
} from '../grpc-protocol/error-status.js';

/** What a grpc-js handler passes to its callback or emits as 'error' to end a call. */
export type GrpcStatusError = Pick<StatusObject, 'code' | 'details' | 'metadata'>;

/** The wire form of an OxiaError: code, message and the ErrorInfo trailer. */
export function oxiaErrorToStatus(error: OxiaError): GrpcStatusError {
  const form = wireFormOf(error.kind);
  const metadata: Record<string, string> = {};
  // Like Oxia, a hint without a leader is no hint at all.
  if (error.leaderHint && error.leaderHint.leader !== '') {
    metadata[METADATA_SHARD] = error.leaderHint.shard.toString();
    metadata[METADATA_LEADER] = error.leaderHint.leader;
  }
  const info = ErrorInfo.encode({ reason: form.reason, domain: OXIA_ERROR_DOMAIN, metadata }).finish();
  const details = RpcStatus.encode({
    code: form.code,
    message: error.message,
    details: [{ typeUrl: ERROR_INFO_TYPE_URL, value: Buffer.from(info) }],
  }).finish();
  const trailers = new Metadata();
  trailers.set(STATUS_DETAILS_TRAILER, Buffer.from(details));
  return { code: form.code, details: error.message, metadata: trailers };
}

/**
 * A status as a google.rpc.Status message (an answer of oxiats.client.v1 ReadStream, ADR 0034):
 * the one in its status-details trailer, which an OxiaError's status has, else code and message.
 */
export function statusAsMessage(status: GrpcStatusError): RpcStatus {
  for (const value of status.metadata.get(STATUS_DETAILS_TRAILER)) {
    if (typeof value !== 'string') return RpcStatus.decode(value);
  }
  return { code: status.code, message: status.details, details: [] };
}

/**
 * Any error thrown below a handler, as a status. OxiaErrors get their mapped form;
 * anything else is a bug and becomes INTERNAL (reported through `onUnexpected`, so
 * the caller logs it), never a crash and never a hang.
 */
export function errorToStatus(error: unknown, onUnexpected: (error: unknown) => void): GrpcStatusError {
  if (error instanceof OxiaError) return oxiaErrorToStatus(error);
  onUnexpected(error);
  const message = error instanceof Error ? error.message : String(error);
  return { code: GrpcCode.INTERNAL, details: `internal error: ${message}`, metadata: new Metadata() };
}
