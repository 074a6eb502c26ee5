/** The comparison as Markdown: one table per operation, the systems side by side. Pure. */
import type { Operation, SystemName } from './options.js';
import { SYSTEM_LABELS, type CompareReport, type PointResult } from './results.js';

const OPERATION_TITLES: Readonly<Record<Operation, string>> = { put: 'Puts', get: 'Gets' };

/** Figures of a few significant digits: 0.42, 3.14, 27.5, 312. */
export function formatMs(ms: number): string {
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

export function formatRate(opsPerSec: number): string {
  return Math.round(opsPerSec).toLocaleString('en-US');
}

/** One Markdown table: a row per number of callers, per system its throughput and latencies. */
export function renderOperationTable(report: CompareReport, operation: Operation): string {
  const systems = report.turns.map((t) => t.system);
  const header = ['callers', ...systems.flatMap((s) => [`${SYSTEM_LABELS[s]} ops/s`, `${SYSTEM_LABELS[s]} p50 / p99 / p99.9 ms`])];
  const rows = report.workload.concurrencies.map((concurrency) => [
    String(concurrency),
    ...systems.flatMap((system) => {
      const p = report.points.find((x) => x.system === system && x.operation === operation && x.concurrency === concurrency);
      if (p === undefined) return ['–', '–'];
      return [formatRate(p.opsPerSec) + (p.failed > 0 ? ` (${p.failed} failed)` : ''), latencies(p)];
    }),
  ]);
  const align = header.map(() => '---:');
  return [header, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

const latencies = (p: PointResult): string => `${formatMs(p.p50Ms)} / ${formatMs(p.p99Ms)} / ${formatMs(p.p999Ms)}`;

/**
 * Where the CPUs went during the measured time: per system and operation, the servers' CPU
 * time, the load generator's and that of other processes on the machine, in % of one CPU.
 * Undefined when no point has the figures.
 */
export function renderCpuTable(report: CompareReport): string | undefined {
  if (!report.points.some((p) => p.serverCpuPercent !== undefined || p.clientCpuPercent !== undefined)) return undefined;
  const systems = report.turns.map((t) => t.system);
  const operations = report.workload.operations;
  const header = ['callers', ...systems.flatMap((s) => operations.map((op) => `${SYSTEM_LABELS[s]} ${OPERATION_TITLES[op].toLowerCase()}`))];
  const percent = (v: number | undefined) => (v === undefined ? '?' : `${v}%`);
  const rows = report.workload.concurrencies.map((concurrency) => [
    String(concurrency),
    ...systems.flatMap((system) =>
      operations.map((operation) => {
        const p = report.points.find((x) => x.system === system && x.operation === operation && x.concurrency === concurrency);
        if (p === undefined) return '–';
        const other = p.otherCpuPercent === undefined ? '' : ` (${p.otherCpuPercent}%)`;
        return `${percent(p.serverCpuPercent)} + ${percent(p.clientCpuPercent)}${other}`;
      }),
    ),
  ]);
  return [header, header.map(() => '---:'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/**
 * `system`'s figures over `baseline`'s, per operation and callers: throughput (higher is
 * better for `system`) and p50 / p99 latency (lower is better). Undefined unless both have points.
 */
export function renderRatioTable(report: CompareReport, system: SystemName, baseline: SystemName): string | undefined {
  const find = (s: SystemName, operation: Operation, concurrency: number) =>
    report.points.find((x) => x.system === s && x.operation === operation && x.concurrency === concurrency);
  if (!report.points.some((p) => p.system === system) || !report.points.some((p) => p.system === baseline)) return undefined;
  const operations = report.workload.operations;
  const header = ['callers', ...operations.flatMap((op) => [`${OPERATION_TITLES[op].toLowerCase()}/s ×`, `${op} p50 ×`, `${op} p99 ×`])];
  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}` : '–');
  const rows = report.workload.concurrencies.map((concurrency) => [
    String(concurrency),
    ...operations.flatMap((operation) => {
      const a = find(system, operation, concurrency);
      const b = find(baseline, operation, concurrency);
      if (a === undefined || b === undefined) return ['–', '–', '–'];
      return [ratio(a.opsPerSec, b.opsPerSec), ratio(a.p50Ms, b.p50Ms), ratio(a.p99Ms, b.p99Ms)];
    }),
  ]);
  return [header, header.map(() => '---:'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** The systems compared with etcd (the baseline of issue 8's targets), with their ratio tables. */
function ratioTables(report: CompareReport): Array<{ readonly title: string; readonly table: string }> {
  const baseline: SystemName = 'etcd';
  return report.turns.flatMap((t) => {
    if (t.system === baseline) return [];
    const table = renderRatioTable(report, t.system, baseline);
    return table === undefined ? [] : [{ title: `${SYSTEM_LABELS[t.system]} over ${SYSTEM_LABELS[baseline]} (throughput: higher is better; latency: lower is better)`, table }];
  });
}

/** Every round's throughput per point, when there was more than one round. */
export function renderRoundsTable(report: CompareReport): string | undefined {
  const all = report.roundPoints;
  const rounds = report.workload.rounds ?? 1;
  if (all === undefined || rounds < 2) return undefined;
  const header = ['system', 'operation', 'callers', ...Array.from({ length: rounds }, (_, i) => `round ${i + 1} ops/s`), 'median'];
  const rows = report.points.map((m) => [
    SYSTEM_LABELS[m.system],
    m.operation,
    String(m.concurrency),
    ...Array.from({ length: rounds }, (_, i) => {
      const p = all.find((x) => x.round === i + 1 && x.system === m.system && x.operation === m.operation && x.concurrency === m.concurrency);
      return p === undefined ? '–' : formatRate(p.opsPerSec);
    }),
    formatRate(m.opsPerSec),
  ]);
  return [header, header.map(() => '---:'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

const medianNote = (report: CompareReport): string =>
  (report.workload.rounds ?? 1) > 1 ? `Each figure is the median of ${report.workload.rounds} alternating rounds.` : '';

const CPU_TITLE = 'CPU during the measured time in % of one CPU: servers + load generator (other processes on the machine)';

/** The tables only, as the bench prints them at the end. */
export function renderTables(report: CompareReport): string {
  const tables = report.workload.operations.map((op) => `${OPERATION_TITLES[op]}\n\n${renderOperationTable(report, op)}`);
  for (const r of ratioTables(report)) tables.push(`${r.title}\n\n${r.table}`);
  const cpu = renderCpuTable(report);
  if (cpu !== undefined) tables.push(`${CPU_TITLE}\n\n${cpu}`);
  const rounds = renderRoundsTable(report);
  if (rounds !== undefined) tables.push(`${medianNote(report)} Per round:\n\n${rounds}`);
  return tables.join('\n\n');
}

/** The whole report: machine, workload, tables, the chart, each system's settings and turn. */
export function renderMarkdown(report: CompareReport, chartFile: string): string {
  const m = report.machine;
  const w = report.workload;
  const out: string[] = [];
  out.push('# etcd, ZooKeeper and oxia-ts: the same workload side by side', '');
  out.push(
    `Run ${m.date}${m.commit === undefined ? '' : ` at oxia-ts commit ${m.commit}`} on ${m.cpus} CPUs (${m.cpuModel}), ` +
      `${m.memoryGiB} GiB memory, ${m.os}, Node ${m.node}; 1-minute load average ${m.loadAverageStart.toFixed(2)} at the start, ` +
      `${m.loadAverageEnd.toFixed(2)} at the end. Servers and the load generator share these CPUs.`,
    '',
  );
  out.push(
    `Workload: 3 members / nodes per system on loopback; a closed loop of N callers in one client process, each awaiting ` +
      `its operation before issuing the next; ${w.valueSizeBytes}-byte values over ${w.keys.toLocaleString('en-US')} keys ` +
      `written before the first point${startWarmupNote(w)}; per point ${formatSeconds(w.warmupMs)} warm-up, then ${formatSeconds(w.durationMs)} measured. ` +
      'Puts overwrite random existing keys; gets read random keys.',
    '',
  );
  if (medianNote(report) !== '') out.push(`${medianNote(report)} Every round's throughput is under "Rounds" below.`, '');
  for (const op of w.operations) out.push(`## ${OPERATION_TITLES[op]}`, '', renderOperationTable(report, op), '');
  for (const r of ratioTables(report)) out.push(`## ${r.title}`, '', r.table, '');
  out.push(`![throughput and p99 latency against callers](${chartFile})`, '');
  const cpu = renderCpuTable(report);
  if (cpu !== undefined) {
    out.push(
      '## CPU',
      '',
      `${CPU_TITLE}. The servers are all the system's server processes together; ${m.cpus} CPUs make ${m.cpus * 100}%. ` +
        'Other processes (the machine is shared) compete for the same CPUs: a point with much of it is less trustworthy.',
      '',
      cpu,
      '',
    );
  }
  const rounds = renderRoundsTable(report);
  if (rounds !== undefined) out.push('## Rounds', '', 'Throughput of each round, in the order they ran (the systems alternate within a round).', '', rounds, '');
  out.push('## Systems', '');
  for (const t of report.turns) {
    out.push(`### ${SYSTEM_LABELS[t.system]} (${t.status})`, '', t.detail, '');
    for (const s of t.settings) out.push(`- ${s}`);
    if (t.settings.length > 0) out.push('');
  }
  const failing = report.points.filter((p) => p.failed > 0);
  if (failing.length > 0) {
    out.push('## Failed operations', '');
    for (const p of failing) out.push(`- ${SYSTEM_LABELS[p.system]} ${p.operation} × ${p.concurrency}: ${p.failed} failed, last: ${p.lastError ?? 'unknown'}`);
    out.push('');
  }
  return out.join('\n');
}

/** How the start warm-up ran, for the workload line ('' when there was none). */
function startWarmupNote(w: CompareReport['workload']): string {
  const ms = w.startWarmupMs ?? 0;
  if (ms === 0) return '';
  return `, then ${formatSeconds(ms)} of unmeasured load at ${Math.max(...w.concurrencies)} callers (${w.operations.join(' and ')}) so that JIT-compiled code is optimized`;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
