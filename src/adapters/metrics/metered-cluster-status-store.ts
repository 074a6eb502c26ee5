/**
 * The coordinator's metadata reads and writes under Oxia's names (ADR 0026): how long
 * loading and storing the cluster status took, whichever store holds it (a file or a
 * ConfigMap). Failed calls are timed too: a slow failing store is what the panel is for.
 */
import type { ClusterStatusStore, VersionedClusterStatus } from '../../application/ports/cluster-status-store.js';
import type { BoundHistogram, Metrics } from '../../application/ports/metrics.js';
import type { ClusterStatus, StatusVersion } from '../../domain/cluster/cluster-status.js';

export class MeteredClusterStatusStore implements ClusterStatusStore {
  private readonly getLatency: BoundHistogram;
  private readonly storeLatency: BoundHistogram;

  constructor(
    private readonly backend: ClusterStatusStore,
    metrics: Metrics,
  ) {
    this.getLatency = metrics.histogram('oxia_coordinator_metadata_get_latency_milliseconds', 'Time to load the cluster status from its store').bind({});
    this.storeLatency = metrics.histogram('oxia_coordinator_metadata_store_latency_milliseconds', 'Time to write the cluster status to its store').bind({});
  }

  async load(): Promise<VersionedClusterStatus | undefined> {
    const startedMs = performance.now();
    try {
      return await this.backend.load();
    } finally {
      this.getLatency.observe(performance.now() - startedMs);
    }
  }

  async store(status: ClusterStatus, expectedVersion: StatusVersion | undefined): Promise<StatusVersion> {
    const startedMs = performance.now();
    try {
      return await this.backend.store(status, expectedVersion);
    } finally {
      this.storeLatency.observe(performance.now() - startedMs);
    }
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}
