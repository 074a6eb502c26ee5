import { OxiaError } from '../errors.js';

/**
 * A lock or a leadership ended without `release()` / `resign()`: the session that held
 * its record was lost (the server expired it, or heartbeats went unanswered for a whole
 * session timeout), the record was deleted by someone else, or the client closed.
 * Work guarded by it must stop: another contender may already hold it.
 */
export class OwnershipLostError extends OxiaError {
  constructor(message: string, cause?: unknown) {
    super(message, { kind: 'SessionNotFound', cause });
    this.name = 'OwnershipLostError';
  }
}

/** `acquire` / `campaign` did not succeed within its `timeoutMs`. */
export class AcquireTimeoutError extends OxiaError {
  constructor(message: string) {
    super(message, { kind: 'Timeout' });
    this.name = 'AcquireTimeoutError';
  }
}
