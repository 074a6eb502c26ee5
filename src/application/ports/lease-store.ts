import type { ServiceIdentifier } from 'inversify';
import type { LeaseRecord, StoredLease } from '../../domain/coordinator/lease.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';

/**
 * Where the coordinator lease is kept (a Kubernetes Lease, or files beside the status file).
 * Writes are compare-and-set on the version last read or written, and every successful write
 * produces a new version, so that observers can tell a renewal from silence.
 */
export interface LeaseStore {
  /** For messages: "Lease oxia/oxia-cluster-status". */
  readonly where: string;
  /** The stored lease, or undefined when there is none. */
  read(): Promise<StoredLease | undefined>;
  /**
   * Writes `record` if the stored version is still `expectedVersion` (undefined: no lease
   * stored yet) and resolves with the new version. Rejects with LeaseConflict when it is not
   * (nothing written); with ResourceUnavailable when the outcome is unknown (unreachable store,
   * no answer within `timeoutMs`).
   */
  write(record: LeaseRecord, expectedVersion: string | undefined, timeoutMs: number): Promise<string>;
  close(): Promise<void>;
}
export const LeaseStore: ServiceIdentifier<LeaseStore> = Symbol.for('oxia.LeaseStore');

/** A lease write found another version than the one expected: somebody else wrote the lease. */
export class LeaseConflict extends OxiaError {
  constructor(where: string, expectedVersion: string | undefined, found: string | undefined) {
    super(
      'ResourceConflict',
      `the coordinator lease in ${where} was written by someone else: expected ${expectedVersion === undefined ? 'no lease' : `version ${expectedVersion}`}, found ${found === undefined ? 'another version' : found}`,
    );
  }
}

export function isLeaseConflict(e: unknown): e is LeaseConflict {
  return e instanceof LeaseConflict;
}
