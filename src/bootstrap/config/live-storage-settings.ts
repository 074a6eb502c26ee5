/**
 * The storage settings that may change while a node runs (a re-read `--config` file):
 * request limits and retention times. The node's parts keep the objects they were given
 * at start; these objects read the current values on every access, so a change applies
 * to the next request or retention pass without any part knowing about reloads.
 */
import type { StorageNodeConfig } from '../../application/node/storage-node-config.js';
import type { ReplicaIntegritySettings } from '../../application/shard/replica-controller.js';
import type { RequestLimits } from '../../domain/database/limits.js';
import type { StorageSettings } from './storage-options.js';

type Tunables = Pick<StorageSettings, 'limits' | 'walRetentionMs' | 'notificationsRetentionMs'>;

export class LiveStorageSettings {
  private current: Tunables;
  /** One object for the node's whole life, reading the current limits. */
  readonly limits: RequestLimits;

  constructor(
    initial: Tunables,
    /** Needs a restart: the interval of the retention timer. */
    readonly retentionCheckIntervalMs: number,
    /** Needs a restart: the integrity checks across replicas (a server's; ADR 0031). */
    readonly integrity?: ReplicaIntegritySettings,
  ) {
    this.current = { limits: { ...initial.limits }, walRetentionMs: initial.walRetentionMs, notificationsRetentionMs: initial.notificationsRetentionMs };
    const self = this;
    this.limits = {
      get keySizeBytesMax() {
        return self.current.limits.keySizeBytesMax;
      },
      get valueSizeBytesMax() {
        return self.current.limits.valueSizeBytesMax;
      },
      get itemsPerRequestMax() {
        return self.current.limits.itemsPerRequestMax;
      },
      get requestSizeBytesMax() {
        return self.current.limits.requestSizeBytesMax;
      },
    };
  }

  get walRetentionMs(): number {
    return this.current.walRetentionMs;
  }

  get notificationsRetentionMs(): number {
    return this.current.notificationsRetentionMs;
  }

  /** The request size stays: it is also the gRPC listeners' receive limit, fixed at start. */
  update(next: Tunables): void {
    const limits = { ...next.limits, requestSizeBytesMax: this.current.limits.requestSizeBytesMax };
    this.current = { limits, walRetentionMs: next.walRetentionMs, notificationsRetentionMs: next.notificationsRetentionMs };
  }

  /** The shards' limits and retention, live; `soleNode` for a standalone node (StorageNodeConfig). */
  nodeConfig(role: { readonly soleNode?: boolean } = {}): StorageNodeConfig {
    const self = this;
    return {
      ...role,
      limits: this.limits,
      get walRetentionMs() {
        return self.walRetentionMs;
      },
      get notificationsRetentionMs() {
        return self.notificationsRetentionMs;
      },
      retentionCheckIntervalMs: this.retentionCheckIntervalMs,
      integrity: this.integrity,
    };
  }
}
