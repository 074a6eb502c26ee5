import type { ServiceIdentifier } from 'inversify';

/** Label name -> value of one series. */
export type MetricLabels = Readonly<Record<string, string>>;

/** One series of a counter, its labels looked up once: hot paths keep it in a field. */
export interface BoundCounter {
  inc(by?: number): void;
}
export interface BoundHistogram {
  observe(value: number): void;
}
export interface BoundGauge {
  set(value: number): void;
}

export interface CounterMetric {
  inc(labels?: MetricLabels, by?: number): void;
  bind(labels: MetricLabels): BoundCounter;
  /** Stops exporting one series (its shard or follower is gone). */
  remove(labels: MetricLabels): void;
}
export interface HistogramMetric {
  observe(labels: MetricLabels, value: number): void;
  bind(labels: MetricLabels): BoundHistogram;
  remove(labels: MetricLabels): void;
}
export interface GaugeMetric {
  set(labels: MetricLabels, value: number): void;
  bind(labels: MetricLabels): BoundGauge;
  remove(labels: MetricLabels): void;
  /** Drops every series, for gauges rebuilt whole at each scrape. */
  reset(): void;
}

/**
 * What the core reports; the adapter decides exposition. Names follow Prometheus
 * conventions: an `oxia_` prefix, the unit last (`_seconds`, `_bytes`), `_total` on counters.
 */
export interface Metrics {
  counter(name: string, help: string, labels?: readonly string[]): CounterMetric;
  histogram(name: string, help: string, labels?: readonly string[]): HistogramMetric;
  gauge(name: string, help: string, labels?: readonly string[]): GaugeMetric;
  /**
   * Runs `refresh` before each scrape, for values read when asked for rather than pushed
   * on every change (offsets, roles, sizes on disk). Returns a function that unregisters it.
   */
  onScrape(refresh: () => void | Promise<void>): () => void;
}
export const Metrics: ServiceIdentifier<Metrics> = Symbol.for('oxia.Metrics');
