import type { ServiceIdentifier } from 'inversify';
import type { ClusterStatus, StatusVersion } from '../../domain/cluster/cluster-status.js';

export interface VersionedClusterStatus {
  readonly status: ClusterStatus;
  readonly version: StatusVersion;
}

/**
 * Where the coordinator checkpoints the ClusterStatus. Every write is a compare-and-set on
 * the version the coordinator last read or wrote, so two coordinators can never both write
 * from the same view: the second gets StatusVersionConflict (domain/cluster/status-conflict.ts,
 * an OxiaError of kind 'ResourceConflict') and nothing is written. A conflict means another
 * coordinator is acting: the loser must stop, not retry.
 */
export interface ClusterStatusStore {
  /** The stored status and its version, or undefined when none was ever stored. */
  load(): Promise<VersionedClusterStatus | undefined>;
  /**
   * Writes `status` if the stored version is still `expectedVersion` (undefined: no status
   * stored yet) and resolves with the new version, which differs from every earlier one even
   * when the status is unchanged (a coordinator's claim fences its predecessor that way). Rejects with StatusVersionConflict when
   * it is not; with another OxiaError when the store cannot be reached or holds something
   * unreadable, in which case nothing was overwritten either.
   */
  store(status: ClusterStatus, expectedVersion: StatusVersion | undefined): Promise<StatusVersion>;
  close(): Promise<void>;
}
export const ClusterStatusStore: ServiceIdentifier<ClusterStatusStore> = Symbol.for('oxia.ClusterStatusStore');
