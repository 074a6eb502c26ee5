/**
 * The security bench's report: per operation, a row per number of callers and setup, with the
 * throughput over the rounds, its ratio to plaintext in the same session, latencies and the CPU
 * time each operation cost the server and the client. Pure.
 */
import type { Operation } from '../compare/options.js';
import type { MachineInfo, PointResult } from '../compare/results.js';
import { formatMs, formatRate } from '../compare/table.js';
import { SETUP_LABELS, type SetupName } from './options.js';

/** One measured point of one setup in one round. */
export interface SecurityPoint extends PointResult {
  readonly setup: SetupName;
  readonly round: number;
}

export interface SecurityReport {
  readonly machine: MachineInfo;
  readonly workload: {
    readonly shards: number;
    readonly durationMs: number;
    readonly warmupMs: number;
    readonly rounds: number;
    readonly keys: number;
    readonly valueSizeBytes: number;
    readonly concurrencies: readonly number[];
    readonly operations: readonly Operation[];
  };
  /** In the order they ran within a round; the first is the baseline of the ratios. */
  readonly setups: readonly { readonly name: SetupName; readonly settings: string }[];
  readonly points: readonly SecurityPoint[];
}

/** A setup's figures for one operation and number of callers, over its rounds. */
export interface PointSummary {
  readonly rounds: number;
  readonly opsPerSec: number;
  readonly minOpsPerSec: number;
  readonly maxOpsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time per operation, µs: the server process, the load generator. */
  readonly serverCpuUsPerOp: number | undefined;
  readonly clientCpuUsPerOp: number | undefined;
  /** The most CPU other processes used during one of its points, in % of one CPU. */
  readonly maxOtherCpuPercent: number | undefined;
  readonly failed: number;
}

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

export function summarize(report: SecurityReport, setup: SetupName, operation: Operation, concurrency: number): PointSummary | undefined {
  const points = report.points.filter((p) => p.setup === setup && p.operation === operation && p.concurrency === concurrency);
  if (points.length === 0) return undefined;
  const perOp = (percent: (p: PointResult) => number | undefined): number | undefined => {
    const values = points.flatMap((p) => {
      const v = percent(p);
      return v === undefined || p.opsPerSec === 0 ? [] : [((v / 100) * 1e6) / p.opsPerSec];
    });
    return values.length === 0 ? undefined : mean(values);
  };
  const others = points.flatMap((p) => (p.otherCpuPercent === undefined ? [] : [p.otherCpuPercent]));
  return {
    rounds: points.length,
    opsPerSec: mean(points.map((p) => p.opsPerSec)),
    minOpsPerSec: Math.min(...points.map((p) => p.opsPerSec)),
    maxOpsPerSec: Math.max(...points.map((p) => p.opsPerSec)),
    p50Ms: mean(points.map((p) => p.p50Ms)),
    p99Ms: mean(points.map((p) => p.p99Ms)),
    serverCpuUsPerOp: perOp((p) => p.serverCpuPercent),
    clientCpuUsPerOp: perOp((p) => p.clientCpuPercent),
    maxOtherCpuPercent: others.length === 0 ? undefined : Math.max(...others),
    failed: points.reduce((n, p) => n + p.failed, 0),
  };
}

const OPERATION_TITLES: Readonly<Record<Operation, string>> = { put: 'Puts', get: 'Gets' };

/** "1,234" for one round, "1,234 (1,200–1,260)" for several. */
function rateCell(s: PointSummary): string {
  const range = s.rounds > 1 ? ` (${formatRate(s.minOpsPerSec)}–${formatRate(s.maxOpsPerSec)})` : '';
  return `${formatRate(s.opsPerSec)}${range}${s.failed > 0 ? `, ${s.failed} failed` : ''}`;
}

const us = (v: number | undefined): string => (v === undefined ? '?' : v.toFixed(0));

export function renderSecurityTable(report: SecurityReport, operation: Operation): string {
  const baseline = report.setups[0]?.name;
  const versus = `vs ${baseline === undefined ? 'baseline' : SETUP_LABELS[baseline]}`;
  const header = ['callers', 'setup', 'ops/s', versus, 'p50 / p99 ms', `${versus} p50`, 'server CPU µs/op', 'client CPU µs/op'];
  const rows: string[][] = [];
  for (const concurrency of report.workload.concurrencies) {
    const base = baseline === undefined ? undefined : summarize(report, baseline, operation, concurrency);
    for (const { name } of report.setups) {
      const s = summarize(report, name, operation, concurrency);
      if (!s) continue;
      const ratio = (v: number, b: number | undefined) => (b === undefined || b === 0 || name === baseline ? '' : `${(v / b).toFixed(2)}x`);
      rows.push([
        String(concurrency),
        SETUP_LABELS[name],
        rateCell(s),
        ratio(s.opsPerSec, base?.opsPerSec),
        `${formatMs(s.p50Ms)} / ${formatMs(s.p99Ms)}`,
        ratio(s.p50Ms, base?.p50Ms),
        us(s.serverCpuUsPerOp),
        us(s.clientCpuUsPerOp),
      ]);
    }
  }
  const align = header.map((_, i) => (i < 2 ? '---' : '---:'));
  return [header, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** The tables only, as the bench prints them at the end. */
export function renderSecurityTables(report: SecurityReport): string {
  return report.workload.operations.map((op) => `${OPERATION_TITLES[op]}\n\n${renderSecurityTable(report, op)}`).join('\n\n');
}

export function renderSecurityMarkdown(report: SecurityReport): string {
  const m = report.machine;
  const w = report.workload;
  const others = report.points.flatMap((p) => (p.otherCpuPercent === undefined ? [] : [p.otherCpuPercent]));
  const out: string[] = [];
  out.push('# The cost of security: plaintext, TLS, TLS with OIDC tokens', '');
  out.push(
    `Run ${m.date}${m.commit === undefined ? '' : ` at commit ${m.commit}`} on ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB memory, ` +
      `${m.os}, Node ${m.node}; 1-minute load average ${m.loadAverageStart.toFixed(2)} at the start, ${m.loadAverageEnd.toFixed(2)} at the end. ` +
      (others.length > 0
        ? `Other processes used ${Math.min(...others)}% to ${Math.max(...others)}% of one CPU during the measured points (mean ${Math.round(mean(others))}%).`
        : 'The CPU used by other processes was not measured.'),
    '',
  );
  out.push(
    `Workload: \`oxia-ts standalone --shards ${w.shards}\` on loopback, a fresh server for every setup in every round; one client process ` +
      `(OxiaClient, its defaults) running a closed loop of N callers, each awaiting its operation before the next; ` +
      `${w.valueSizeBytes}-byte values over ${w.keys.toLocaleString('en-US')} keys written first; per point ${seconds(w.warmupMs)} warm-up then ` +
      `${seconds(w.durationMs)} measured. ${w.rounds} round${w.rounds === 1 ? '' : 's'}, each running the setups in the order below; ` +
      `ops/s is the mean over the rounds (the range in brackets), latencies are means of the rounds' percentiles. ` +
      `"vs ${report.setups[0] === undefined ? 'baseline' : SETUP_LABELS[report.setups[0].name]}" divides by that setup's figure of the same session. CPU µs/op is the CPU time of the server process, ` +
      `and of the load generator, divided by the operations completed.`,
    '',
  );
  for (const op of w.operations) out.push(`## ${OPERATION_TITLES[op]}`, '', renderSecurityTable(report, op), '');
  out.push('## Setups', '');
  for (const s of report.setups) out.push(`- ${SETUP_LABELS[s.name]}: ${s.settings}`);
  out.push('');
  const failing = report.points.filter((p) => p.failed > 0);
  if (failing.length > 0) {
    out.push('## Failed operations', '');
    for (const p of failing) out.push(`- ${SETUP_LABELS[p.setup]} round ${p.round} ${p.operation} × ${p.concurrency}: ${p.failed} failed, last: ${p.lastError ?? 'unknown'}`);
    out.push('');
  }
  return out.join('\n');
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
