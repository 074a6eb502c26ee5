import { Status } from '../../../domain/wire/client.js';
import { KeyNotFoundError, OxiaError, SessionNotFoundError, UnexpectedVersionIdError } from '../errors.js';
import { RpcError } from './rpc-error.js';

/**
 * Turns an internal failure into the error the caller sees: the public classes keep
 * their identity, transport and server errors become an OxiaError that says what was
 * being done and why it failed, with the cause kind in `kind`.
 */
export function publicError(e: unknown, what: string): Error {
  if (e instanceof OxiaError || e instanceof RangeError) return e;
  if (e instanceof RpcError) {
    if (e.kind === 'SessionNotFound') return new SessionNotFoundError(`${what}: ${e.message}`);
    return new OxiaError(`${what} failed: ${e.message} (${e.kind})`, { kind: e.kind, cause: e });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new OxiaError(`${what} failed: ${message}`, { kind: 'Unknown', cause: e });
}

/** The error for a per-operation status other than OK, or undefined for OK. */
export function statusError(status: Status, what: string): OxiaError | undefined {
  switch (status) {
    case Status.OK:
      return undefined;
    case Status.KEY_NOT_FOUND:
      return new KeyNotFoundError(`${what}: key not found`);
    case Status.UNEXPECTED_VERSION_ID:
      return new UnexpectedVersionIdError(`${what}: unexpected version id`);
    case Status.SESSION_DOES_NOT_EXIST:
      return new SessionNotFoundError(`${what}: session does not exist`);
    default:
      return new OxiaError(`${what}: unknown status ${String(status)}`, { kind: 'Internal' });
  }
}
