import type { ServiceIdentifier } from 'inversify';
import type { KeySorting } from '../../domain/sharding/namespace.js';
import type { RequestLimits } from '../../domain/database/limits.js';

/** One namespace served by a standalone node. */
export interface NamespaceSpec {
  readonly name: string;
  readonly initialShardCount: number;
  readonly keySorting: KeySorting;
  readonly notificationsEnabled: boolean;
}

/** Settings of the storage node's replica controllers (validated by bootstrap/config). */
export interface NodeConfig {
  /** The address clients reach this node at (the leader in shard assignments), e.g. 127.0.0.1:6648. */
  readonly publicAddress: string;
  readonly namespaces: readonly NamespaceSpec[];
  readonly limits: RequestLimits;
  /** WAL entries older than this are dropped once applied (never past the commit offset). */
  readonly walRetentionMs: number;
  /** Notification batches older than this are dropped. */
  readonly notificationsRetentionMs: number;
  /** How often retention runs. */
  readonly retentionCheckIntervalMs: number;
}
export const NodeConfig: ServiceIdentifier<NodeConfig> = Symbol.for('oxia.NodeConfig');
