/**
 * The node's read cache as Prometheus sees it: hits, misses, bytes held and its bound.
 * The cache keeps plain counts (a hit must stay a Map lookup); they are copied into the
 * series only when the node is scraped.
 */
import type { Metrics } from '../../application/ports/metrics.js';

/** What is read from the cache (KvReadCache). */
export interface ReadCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly sizeBytes: number;
  readonly entryCount: number;
  readonly maxBytes: number;
}

/** Registers the cache's series; returns a function that unregisters the scrape-time refresh. */
export function exportReadCacheMetrics(metrics: Metrics, cache: ReadCacheStats): () => void {
  const hits = metrics.counter('oxia_server_read_cache_hits_total', 'Point reads answered by the node-wide read cache');
  const misses = metrics.counter('oxia_server_read_cache_misses_total', 'Point reads the read cache did not hold (they went to the store)');
  const size = metrics.gauge('oxia_server_read_cache_size_bytes', 'Approximate bytes held by the read cache');
  const entries = metrics.gauge('oxia_server_read_cache_entries', 'Records held by the read cache');
  const capacity = metrics.gauge('oxia_server_read_cache_capacity_bytes', 'Bound of the read cache (--db-cache-size-mb)');
  let hitsExported = 0;
  let missesExported = 0;
  return metrics.onScrape(() => {
    // Counters only go up: add what happened since the last scrape.
    hits.inc({}, cache.hits - hitsExported);
    misses.inc({}, cache.misses - missesExported);
    hitsExported = cache.hits;
    missesExported = cache.misses;
    size.set({}, cache.sizeBytes);
    entries.set({}, cache.entryCount);
    capacity.set({}, cache.maxBytes);
  });
}
