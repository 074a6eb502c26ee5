/** What a comparison run produces: the load generator's points and what the report says about each system. */
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
    readonly keys: number;
    readonly valueSizeBytes: number;
    readonly concurrencies: readonly number[];
    readonly operations: readonly Operation[];
  };
  readonly turns: readonly SystemTurn[];
  readonly points: readonly PointResult[];
}

/** How systems are named in tables and charts. */
export const SYSTEM_LABELS: Readonly<Record<SystemName, string>> = {
  etcd: 'etcd',
  zookeeper: 'ZooKeeper',
  'oxia-ts': 'oxia-ts',
};
