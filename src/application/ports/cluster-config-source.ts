import type { ServiceIdentifier } from 'inversify';
import type { ClusterConfig } from '../../domain/cluster/cluster-config.js';

/**
 * The operator's cluster configuration (a YAML file or a ConfigMap), watched for edits.
 * An edit that does not parse or validate is reported in the log and ignored: the last
 * valid config stays current, so a typo never tears a running cluster apart.
 */
export interface ClusterConfigSource {
  /** Loads the config; rejects with an OxiaError naming every problem when it is missing or invalid. */
  start(): Promise<void>;
  /** The last valid config. Only valid after start(). */
  current(): ClusterConfig;
  /** Calls `listener` with each new valid config that differs from the previous one. Returns the unsubscribe function. */
  watch(listener: (config: ClusterConfig) => void): () => void;
  close(): Promise<void>;
}
export const ClusterConfigSource: ServiceIdentifier<ClusterConfigSource> = Symbol.for('oxia.ClusterConfigSource');
