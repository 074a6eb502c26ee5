/**
 * The errors the client library throws, named and shaped like the official Oxia Node
 * client's (`@oxia-db/client`) so that `catch (e) { if (e instanceof KeyNotFoundError) ... }`
 * keeps working after an application switches import. Every error extends `OxiaError`.
 */
import type { OxiaErrorKind as ServerErrorKind } from '../../domain/errors/oxia-error.js';

/**
 * Kinds a server sends only to its peers (a follower's answer on the Replicate stream);
 * a client reads such a status by its gRPC code instead (grpc/grpc-errors.ts).
 */
type PeerOnlyKind = 'ReplicaDiverged';

/**
 * Causes the client observes itself rather than reads from a server's reason: no server
 * answered (`Unavailable`), the deadline passed (`Timeout`), a server broke the protocol
 * or failed without a reason (`Internal`), or the status said nothing we know (`Unknown`).
 */
type ClientSideKind = 'Unavailable' | 'Timeout' | 'Internal' | 'Unknown';

/**
 * What went wrong, for errors that are not one of the specific subclasses: an Oxia
 * server reason (`NamespaceNotFound`, `NodeIsNotLeader`, ...) or a client-side cause
 * (`Unavailable` when no server answered, `Timeout`, `Closed` after `close()`).
 * The server reasons are the domain's kinds (domain/errors/oxia-error.ts), the one list
 * the wire mapping is built from, so a kind added there reaches the client's type too.
 */
export type OxiaErrorKind = Exclude<ServerErrorKind, PeerOnlyKind> | ClientSideKind;

/** Base class of every error the client throws. */
export class OxiaError extends Error {
  /** The cause category; `Unknown` when the server gave none. */
  readonly kind: OxiaErrorKind;
  constructor(message?: string, options?: { kind?: OxiaErrorKind; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OxiaError';
    this.kind = options?.kind ?? 'Unknown';
  }
}

/** Options passed to a call do not fit together (e.g. `sequenceKeysDeltas` without `partitionKey`). */
export class InvalidOptionsError extends OxiaError {
  constructor(message?: string) {
    super(message, { kind: 'InvalidArgument' });
    this.name = 'InvalidOptionsError';
  }
}

/** `get` found no record matching the query. */
export class KeyNotFoundError extends OxiaError {
  constructor(message?: string) {
    super(message ?? 'key not found');
    this.name = 'KeyNotFoundError';
  }
}

/** A conditional `put` / `delete` saw a version other than `expectedVersionId`. */
export class UnexpectedVersionIdError extends OxiaError {
  constructor(message?: string) {
    super(message ?? 'unexpected version id');
    this.name = 'UnexpectedVersionIdError';
  }
}

/**
 * The session an ephemeral `put` relies on no longer exists on the server: it expired
 * (no heartbeat reached the server within the session timeout) or was closed. Records
 * created under it are gone; the next ephemeral put opens a new session.
 */
export class SessionNotFoundError extends OxiaError {
  constructor(message?: string) {
    super(message ?? 'session does not exist', { kind: 'SessionNotFound' });
    this.name = 'SessionNotFoundError';
  }
}

/** The name Oxia's protocol uses for the same condition (`SESSION_DOES_NOT_EXIST`). */
export const SessionDoesNotExistError = SessionNotFoundError;
export type SessionDoesNotExistError = SessionNotFoundError;

/** The operation did not complete within `requestTimeoutMs`, retries included. */
export class RequestTimeoutError extends OxiaError {
  constructor(message: string, cause?: unknown) {
    super(message, { kind: 'Timeout', cause });
    this.name = 'RequestTimeoutError';
  }
}
