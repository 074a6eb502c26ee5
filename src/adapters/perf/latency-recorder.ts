import { build, type Histogram } from 'hdr-histogram-js';

/** Latencies in microseconds up to this are recorded exactly enough (3 significant digits); longer ones are clamped. */
const HIGHEST_TRACKABLE_US = 10 * 60 * 1_000_000;

/** Figures of one kind of operation over a period; latencies in milliseconds. */
export interface OperationFigures {
  readonly ops: number;
  readonly opsPerSec: number;
  readonly failed: number;
  readonly latencyMs: {
    readonly p50: number;
    readonly p95: number;
    readonly p99: number;
    readonly p999: number;
    readonly max: number;
    readonly mean: number;
  };
}

/**
 * Latencies of one kind of operation in two HDR histograms: one for the current
 * reporting interval (reset at each report) and one for the whole run. A recorder made
 * with `{ intervals: false }` keeps only the whole run's: a benchmark's closed loop
 * records every operation in the process it measures, and never reports intervals.
 */
export class LatencyRecorder {
  private readonly interval: Histogram | undefined;
  private readonly total: Histogram = newHistogram();
  private intervalFailed = 0;
  private totalFailed = 0;

  constructor(options: { readonly intervals: boolean } = { intervals: true }) {
    this.interval = options.intervals ? newHistogram() : undefined;
  }

  record(latencyUs: number): void {
    const v = Math.min(HIGHEST_TRACKABLE_US, Math.max(1, Math.round(latencyUs)));
    this.interval?.recordValue(v);
    this.total.recordValue(v);
  }

  failed(): void {
    this.intervalFailed++;
    this.totalFailed++;
  }

  /** The interval's figures; starts the next interval. */
  takeInterval(elapsedMs: number): OperationFigures {
    if (this.interval === undefined) throw new Error('this LatencyRecorder keeps no intervals');
    const f = figures(this.interval, this.intervalFailed, elapsedMs);
    this.interval.reset();
    this.intervalFailed = 0;
    return f;
  }

  /** The whole run's figures. */
  totals(elapsedMs: number): OperationFigures {
    return figures(this.total, this.totalFailed, elapsedMs);
  }
}

function newHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_TRACKABLE_US, numberOfSignificantValueDigits: 3 });
}

const ms = (us: number): number => Math.round(us) / 1000;

function figures(h: Histogram, failed: number, elapsedMs: number): OperationFigures {
  const ops = h.totalCount;
  // A percentile is reported as the top of its bucket, which can exceed the largest value recorded.
  const at = (percentile: number): number => (ops === 0 ? 0 : ms(Math.min(h.getValueAtPercentile(percentile), h.maxValue)));
  return {
    ops,
    opsPerSec: elapsedMs > 0 ? Math.round((ops / elapsedMs) * 1000 * 10) / 10 : 0,
    failed,
    latencyMs: {
      p50: at(50),
      p95: at(95),
      p99: at(99),
      p999: at(99.9),
      max: ops === 0 ? 0 : ms(h.maxValue),
      mean: ops === 0 ? 0 : ms(h.mean),
    },
  };
}
