import type { LeaderHint } from '../../../domain/errors/oxia-error.js';
import type { OxiaErrorKind } from '../errors.js';

/** Where the server says a shard's leader is, from a not-leader error (the shape the wire mapping reads). */
export type { LeaderHint };

/**
 * A failed call as the transport reports it: the Oxia reason (or the gRPC-level cause)
 * as a kind, the server's message and, for not-leader errors, the leader hint.
 */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly kind: OxiaErrorKind,
    message: string,
    readonly leaderHint?: LeaderHint,
  ) {
    super(message);
  }
}

/**
 * Failures worth another attempt: the shard is moving or starting (not leader, not a
 * member, not initialized, aborted), the server is unreachable or went away mid-call.
 * Anything else (bad request, namespace not found, ...) will fail the same way again.
 */
const RETRYABLE: ReadonlySet<OxiaErrorKind> = new Set<OxiaErrorKind>([
  'NodeIsNotLeader',
  'NodeIsNotMember',
  'NotInitialized',
  'ResourceUnavailable',
  'Aborted',
  'Closed',
  'Unavailable',
]);

export function isRetryable(e: unknown): boolean {
  return e instanceof RpcError && RETRYABLE.has(e.kind);
}

export const streamBroken = (message: string): RpcError => new RpcError('Unavailable', message);
