import type { ServiceIdentifier } from 'inversify';

/** What the core reports; the adapter decides names, labels and exposition. */
export interface Metrics {
  counter(name: string, help: string, labels?: readonly string[]): { inc(labels?: Record<string, string>, by?: number): void };
  histogram(name: string, help: string, labels?: readonly string[]): { observe(labels: Record<string, string>, value: number): void };
  gauge(name: string, help: string, labels?: readonly string[]): { set(labels: Record<string, string>, value: number): void };
}
export const Metrics: ServiceIdentifier<Metrics> = Symbol.for('oxia.Metrics');
