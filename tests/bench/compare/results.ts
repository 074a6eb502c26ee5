/** What a comparison run produces: the load generator's points and what the report says about each system. */
import { median } from '../median.js';
import type { Operation, SystemName } from './options.js';

/** One measured point: one system, one operation, one number of callers. Latencies in ms. */
export interface PointResult {
  readonly system: SystemName;
  readonly operation: Operation;
  readonly concurrency: number;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly elapsedMs: number;
  /** The last failure's message, when any operation failed. */
  readonly lastError?: string | undefined;
  /** CPU time of the load generator process over the measured time, in % of one CPU. */
  readonly clientCpuPercent?: number | undefined;
  /** CPU time of all the system's server processes over the measured time, in % of one CPU. */
  readonly serverCpuPercent?: number | undefined;
  /** CPU time of every other process on the machine over the measured time, in % of one CPU. */
  readonly otherCpuPercent?: number | undefined;
  /** Which round over the systems measured it (1-based; --rounds). */
  readonly round?: number | undefined;
}

/** How a system's turn went. */
export interface SystemTurn {
  readonly system: SystemName;
  readonly status: 'ran' | 'skipped' | 'failed';
  /** Version and setup when it ran; the reason otherwise (an install command when missing). */
  readonly detail: string;
  /** The settings the system ran with, one line each (for the report). */
  readonly settings: readonly string[];
}

/** Where and when it ran: benchmark figures mean little without it. */
export interface MachineInfo {
  /** ISO 8601. */
  readonly date: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly os: string;
  /** 1-minute load average when the run began and ended (other work on the machine). */
  readonly loadAverageStart: number;
  readonly loadAverageEnd: number;
  readonly commit?: string | undefined;
}

export interface CompareReport {
  readonly machine: MachineInfo;
  readonly workload: {
    readonly durationMs: number;
    readonly warmupMs: number;
    /** Absent in reports written before the start warm-up existed. */
    readonly startWarmupMs?: number;
    readonly keys: number;
    readonly valueSizeBytes: number;
    readonly concurrencies: readonly number[];
    readonly operations: readonly Operation[];
    /** Rounds over the systems (absent: one, as in reports written before rounds existed). */
    readonly rounds?: number | undefined;
  };
  readonly turns: readonly SystemTurn[];
  /** One per system, operation and callers: the median of the rounds' (see medianPoints). */
  readonly points: readonly PointResult[];
  /** Every round's points, when there was more than one round. */
  readonly roundPoints?: readonly PointResult[] | undefined;
}

/**
 * One point per system, operation and callers out of several rounds' points: each figure is
 * the median of the rounds' (throughput and each latency percentile on their own), except
 * failures, which add up so that a failing round stays visible. Pure.
 */
export function medianPoints(points: readonly PointResult[]): PointResult[] {
  const groups = new Map<string, PointResult[]>();
  for (const p of points) {
    const id = `${p.system} ${p.operation} ${p.concurrency}`;
    const group = groups.get(id);
    if (group) group.push(p);
    else groups.set(id, [p]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    if (group.length === 1) return first;
    const optional = (f: (p: PointResult) => number | undefined): number | undefined => {
      const values = group.map(f).filter((v): v is number => v !== undefined);
      return values.length === 0 ? undefined : median(values);
    };
    const failed = group.reduce((n, p) => n + p.failed, 0);
    return {
      system: first.system,
      operation: first.operation,
      concurrency: first.concurrency,
      ops: median(group.map((p) => p.ops)),
      opsPerSec: median(group.map((p) => p.opsPerSec)),
      failed,
      p50Ms: median(group.map((p) => p.p50Ms)),
      p99Ms: median(group.map((p) => p.p99Ms)),
      p999Ms: median(group.map((p) => p.p999Ms)),
      elapsedMs: median(group.map((p) => p.elapsedMs)),
      lastError: failed > 0 ? group.filter((p) => p.lastError !== undefined).pop()?.lastError : undefined,
      clientCpuPercent: optional((p) => p.clientCpuPercent),
      serverCpuPercent: optional((p) => p.serverCpuPercent),
      otherCpuPercent: optional((p) => p.otherCpuPercent),
    };
  });
}


/** How systems are named in tables and charts. */
export const SYSTEM_LABELS: Readonly<Record<SystemName, string>> = {
  etcd: 'etcd',
  zookeeper: 'ZooKeeper',
  'oxia-ts': 'oxia-ts',
};
