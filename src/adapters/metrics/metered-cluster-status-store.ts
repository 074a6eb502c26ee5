/**
 * The coordinator's metadata reads and writes under Oxia's names (ADR 0026): how long
 * loading and storing the cluster status took, whichever store holds it (a file or a
 * ConfigMap). Failed calls are timed too: a slow failing store is what the panel is for.
 * The status's size is its JSON encoding as the domain codec writes it (what a ConfigMap's
 * `status` key holds; the file adds a version wrapper of a few bytes). It is encoded once more
 * per store and load: both are rare (a status change, a coordinator start).
 */
import type { ClusterStatusStore, VersionedClusterStatus } from '../../application/ports/cluster-status-store.js';
import type { BoundGauge, BoundHistogram, Metrics } from '../../application/ports/metrics.js';
import type { ClusterStatus, StatusVersion } from '../../domain/cluster/cluster-status.js';
import { encodeClusterStatus } from '../../domain/cluster/cluster-status-codec.js';

export class MeteredClusterStatusStore implements ClusterStatusStore {
  private readonly getLatency: BoundHistogram;
  private readonly storeLatency: BoundHistogram;
  private readonly size: BoundGauge;

  constructor(
    private readonly backend: ClusterStatusStore,
    metrics: Metrics,
  ) {
    this.getLatency = metrics.histogram('oxia_coordinator_metadata_get_latency_milliseconds', 'Time to load the cluster status from its store').bind({});
    this.storeLatency = metrics.histogram('oxia_coordinator_metadata_store_latency_milliseconds', 'Time to write the cluster status to its store').bind({});
    this.size = metrics.gauge('oxia_coordinator_metadata_size_bytes', 'Size of the cluster status as last stored or loaded, encoded').bind({});
  }

  async load(): Promise<VersionedClusterStatus | undefined> {
    const startedMs = performance.now();
    try {
      const loaded = await this.backend.load();
      if (loaded !== undefined) this.recordSize(loaded.status);
      return loaded;
    } finally {
      this.getLatency.observe(performance.now() - startedMs);
    }
  }

  async store(status: ClusterStatus, expectedVersion: StatusVersion | undefined): Promise<StatusVersion> {
    const startedMs = performance.now();
    try {
      const version = await this.backend.store(status, expectedVersion);
      this.recordSize(status);
      return version;
    } finally {
      this.storeLatency.observe(performance.now() - startedMs);
    }
  }

  private recordSize(status: ClusterStatus): void {
    this.size.set(Buffer.byteLength(encodeClusterStatus(status), 'utf8'));
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}
