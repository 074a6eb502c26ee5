import type { ServiceIdentifier } from 'inversify';
import type { KeySorting } from '../../domain/sharding/namespace.js';

/** One namespace served by a standalone node. */
export interface NamespaceSpec {
  readonly name: string;
  readonly initialShardCount: number;
  readonly keySorting: KeySorting;
  readonly notificationsEnabled: boolean;
}

/** What the local coordinator of a standalone node places: its namespaces, all led at this node's address. */
export interface LocalCoordinatorConfig {
  /** The address clients reach this node at (the leader in shard assignments), e.g. 127.0.0.1:6648. */
  readonly publicAddress: string;
  readonly namespaces: readonly NamespaceSpec[];
}
export const LocalCoordinatorConfig: ServiceIdentifier<LocalCoordinatorConfig> = Symbol.for('oxia.LocalCoordinatorConfig');
