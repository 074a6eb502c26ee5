import { OxiaError } from '../errors/oxia-error.js';
import type { StatusVersion } from './cluster-status.js';

/** What a store found instead of the expected version, when it could tell. */
export type FoundVersion = { readonly version: StatusVersion } | 'absent' | 'unknown';

/**
 * A compare-and-set write of the cluster status found another version stored than the one
 * the writer read: someone else (another coordinator) wrote in between. The write did not
 * happen. A coordinator that gets this must stop acting on its view of the cluster.
 */
export class StatusVersionConflict extends OxiaError {
  constructor(
    /** The version the writer expected; undefined when it expected no status to exist yet. */
    readonly expectedVersion: StatusVersion | undefined,
    readonly found: FoundVersion,
    where: string,
  ) {
    const expected = expectedVersion === undefined ? 'no status yet' : `version ${expectedVersion}`;
    const actual = found === 'absent' ? 'no status' : found === 'unknown' ? 'a different version' : `version ${found.version}`;
    super('ResourceConflict', `cluster status in ${where} was changed by another writer: expected ${expected}, found ${actual}; nothing was written`);
  }
}

export function isStatusVersionConflict(e: unknown): e is StatusVersionConflict {
  return e instanceof StatusVersionConflict;
}
