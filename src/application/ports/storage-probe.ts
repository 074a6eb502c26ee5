import type { ServiceIdentifier } from 'inversify';
import type { OxiaError } from '../../domain/errors/oxia-error.js';

/**
 * Whether the node's storage (the directories of its logs and stores) can take writes
 * (ADR 0029). Shards ask it before they take writes again after a failure, and the node
 * asks it periodically so that writes stop before the disk is completely full.
 */
export interface StorageProbe {
  /**
   * DiskFull when free space in a storage directory is below the configured threshold
   * (`--min-free-disk-bytes`), else undefined. Cheap (statfs), no write.
   */
  shortage(): Promise<OxiaError | undefined>;
  /**
   * Whether a write can be made durable now: no shortage, and a small file can be written,
   * synced and removed in each storage directory. The failure it met, else undefined.
   */
  probeWrite(): Promise<OxiaError | undefined>;
}
export const StorageProbe: ServiceIdentifier<StorageProbe> = Symbol.for('oxia.StorageProbe');
