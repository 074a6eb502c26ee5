import type { ServiceIdentifier } from 'inversify';
import type { RequestLimits } from '../../domain/database/limits.js';
import type { ReplicaIntegritySettings } from '../shard/replica-controller.js';

/** Settings of a storage node's shards (validated by bootstrap/config). */
export interface StorageNodeConfig {
  readonly limits: RequestLimits;
  /** WAL entries older than this are dropped once applied (never past the applied offset). */
  readonly walRetentionMs: number;
  /** Notification batches older than this are dropped. */
  readonly notificationsRetentionMs: number;
  /** How often retention runs. */
  readonly retentionCheckIntervalMs: number;
  /** The integrity checks across replicas (ADR 0031); their defaults when absent. */
  readonly integrity?: ReplicaIntegritySettings | undefined;
  /**
   * The node is the whole cluster (standalone: its shards are led by a local coordinator), so a
   * shard it does not host does not exist: clients get ShardNotFound rather than NodeIsNotMember.
   */
  readonly soleNode?: boolean;
}
export const StorageNodeConfig: ServiceIdentifier<StorageNodeConfig> = Symbol.for('oxia.StorageNodeConfig');
