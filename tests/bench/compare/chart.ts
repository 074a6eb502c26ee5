/**
 * The comparison as an SVG chart, written by hand (no charting dependency): per operation a
 * throughput panel and a p99 latency panel against the number of callers, one line per
 * system. Callers on a log2 axis (1, 16, 64, 256 are powers of two), throughput linear from
 * zero, p99 on a log10 axis (it spans sub-millisecond to hundreds of milliseconds). Pure.
 */
import type { Operation, SystemName } from './options.js';
import { SYSTEM_LABELS, type CompareReport, type PointResult } from './results.js';
import { formatMs, formatRate } from './table.js';

/** Distinct on white and for the common colour-vision deficiencies. */
export const SYSTEM_COLOURS: Readonly<Record<SystemName, string>> = {
  etcd: '#0072b2',
  zookeeper: '#e69f00',
  'oxia-ts': '#009e73',
};

const PANEL_W = 440;
const PANEL_H = 270;
const MARGIN = { left: 70, right: 20, top: 34, bottom: 46 } as const;
const GAP_X = 20;
const TITLE_H = 44;
const LEGEND_H = 36;
const WIDTH = 2 * PANEL_W + GAP_X + 20;

interface Metric {
  readonly title: string;
  readonly value: (p: PointResult) => number;
  readonly scale: 'linear' | 'log';
  readonly tick: (v: number) => string;
  /** A point's value in its tooltip. */
  readonly exact: (v: number) => string;
}

const METRICS: readonly Metric[] = [
  { title: 'throughput (ops/s)', value: (p) => p.opsPerSec, scale: 'linear', tick: formatCount, exact: (v) => `${formatRate(v)} ops/s` },
  { title: 'p99 latency', value: (p) => p.p99Ms, scale: 'log', tick: formatLatencyTick, exact: (v) => `${formatMs(v)} ms` },
];

const OPERATION_NAMES: Readonly<Record<Operation, string>> = { put: 'puts', get: 'gets' };

export function renderChart(report: CompareReport): string {
  const operations = report.workload.operations;
  const systems = report.turns.map((t) => t.system).filter((s) => report.points.some((p) => p.system === s));
  const height = TITLE_H + operations.length * PANEL_H + LEGEND_H;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(WIDTH / 2, 20, 'etcd, ZooKeeper and oxia-ts: 3 members each, closed loop of N callers', { anchor: 'middle', size: 15, weight: 'bold' }),
    text(WIDTH / 2, 37, `${report.workload.valueSizeBytes} B values, ${report.machine.cpus} CPUs shared by servers and client, ${report.machine.date.slice(0, 10)}`, { anchor: 'middle', size: 11, fill: '#555555' }),
  ];
  operations.forEach((operation, row) => {
    METRICS.forEach((metric, column) => {
      const x = 10 + column * (PANEL_W + GAP_X);
      const y = TITLE_H + row * PANEL_H;
      parts.push(panel(report, systems, operation, metric, x, y));
    });
  });
  parts.push(legend(systems, TITLE_H + operations.length * PANEL_H + 14));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function panel(report: CompareReport, systems: readonly SystemName[], operation: Operation, metric: Metric, x0: number, y0: number): string {
  const plotX = x0 + MARGIN.left;
  const plotY = y0 + MARGIN.top;
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const concurrencies = report.workload.concurrencies;
  const points = report.points.filter((p) => p.operation === operation);
  const values = points.map(metric.value).filter((v) => Number.isFinite(v) && v > 0);

  const xOf = callersAxis(concurrencies, plotX, plotW);
  const yAxis = metric.scale === 'linear' ? linearAxis(values, plotY, plotH) : logAxis(values, plotY, plotH);

  const out: string[] = [`<g>`];
  out.push(text(x0 + MARGIN.left + plotW / 2, y0 + 20, `${OPERATION_NAMES[operation]}: ${metric.title}`, { anchor: 'middle', size: 13, weight: 'bold' }));
  out.push(`<rect x="${plotX}" y="${plotY}" width="${plotW}" height="${plotH}" fill="none" stroke="#999999"/>`);
  for (const t of yAxis.minorTicks) {
    const y = round(yAxis.yOf(t));
    out.push(`<line x1="${plotX}" y1="${y}" x2="${plotX + plotW}" y2="${y}" stroke="#f2f2f2"/>`);
  }
  for (const t of yAxis.ticks) {
    const y = round(yAxis.yOf(t));
    out.push(`<line x1="${plotX}" y1="${y}" x2="${plotX + plotW}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(text(plotX - 6, y + 4, metric.tick(t), { anchor: 'end' }));
  }
  for (const c of concurrencies) {
    const x = round(xOf(c));
    out.push(`<line x1="${x}" y1="${plotY + plotH}" x2="${x}" y2="${plotY + plotH + 4}" stroke="#999999"/>`);
    out.push(text(x, plotY + plotH + 17, String(c), { anchor: 'middle' }));
  }
  out.push(text(plotX + plotW / 2, plotY + plotH + 36, 'callers (concurrency)', { anchor: 'middle', fill: '#555555' }));
  if (values.length === 0) out.push(text(plotX + plotW / 2, plotY + plotH / 2, 'no data', { anchor: 'middle', fill: '#999999' }));

  for (const system of systems) {
    const own = concurrencies
      .map((c) => points.find((p) => p.system === system && p.concurrency === c))
      .filter((p): p is PointResult => p !== undefined && Number.isFinite(metric.value(p)) && metric.value(p) > 0);
    if (own.length === 0) continue;
    const colour = SYSTEM_COLOURS[system];
    const xy = own.map((p) => [round(xOf(p.concurrency)), round(yAxis.yOf(metric.value(p)))] as const);
    if (xy.length > 1) out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${xy.map(([x, y]) => `${x},${y}`).join(' ')}"/>`);
    own.forEach((p, i) => {
      const [x, y] = xy[i]!;
      out.push(`<circle cx="${x}" cy="${y}" r="3.5" fill="${colour}"><title>${escapeXml(`${SYSTEM_LABELS[system]}, ${p.concurrency} caller${p.concurrency === 1 ? '' : 's'}: ${metric.exact(metric.value(p))}`)}</title></circle>`);
    });
  }
  out.push('</g>');
  return out.join('\n');
}

function legend(systems: readonly SystemName[], y: number): string {
  const itemW = 130;
  const x0 = WIDTH / 2 - (systems.length * itemW) / 2;
  return systems
    .map((s, i) => {
      const x = x0 + i * itemW;
      return `<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${SYSTEM_COLOURS[s]}" stroke-width="3"/>` + text(x + 30, y + 4, SYSTEM_LABELS[s], {});
    })
    .join('\n');
}

/** Callers on a log2 scale; a single value sits in the middle. */
export function callersAxis(concurrencies: readonly number[], x: number, width: number): (c: number) => number {
  const lo = Math.log2(Math.min(...concurrencies));
  const hi = Math.log2(Math.max(...concurrencies));
  const pad = width * 0.05;
  if (!(hi > lo)) return () => x + width / 2;
  return (c) => x + pad + ((Math.log2(c) - lo) / (hi - lo)) * (width - 2 * pad);
}

interface YAxis {
  readonly ticks: readonly number[];
  /** Unlabelled grid lines between the ticks. */
  readonly minorTicks: readonly number[];
  readonly yOf: (v: number) => number;
}

/** From zero to a round number above the largest value, ticks at round steps. */
export function linearAxis(values: readonly number[], y: number, height: number): YAxis {
  const max = values.length === 0 ? 1 : Math.max(...values);
  const step = niceStep(max / 5);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks: number[] = [];
  for (let t = 0; t <= top + step / 2; t += step) ticks.push(t);
  return { ticks, minorTicks: [], yOf: (v) => y + height - (v / top) * height };
}

/** From the decade at or below the smallest value to the decade at or above the largest. */
export function logAxis(values: readonly number[], y: number, height: number): YAxis {
  const lo = values.length === 0 ? 0 : Math.floor(Math.log10(Math.min(...values)));
  let hi = values.length === 0 ? 1 : Math.ceil(Math.log10(Math.max(...values)));
  if (hi <= lo) hi = lo + 1;
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  const minorTicks = ticks.slice(0, -1).flatMap((t) => [2 * t, 5 * t]);
  return { ticks, minorTicks, yOf: (v) => y + height - ((Math.log10(v) - lo) / (hi - lo)) * height };
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * magnitude >= raw) return m * magnitude;
  return 10 * magnitude;
}

export function formatCount(v: number): string {
  if (v >= 1_000_000) return `${trim(v / 1_000_000)}M`;
  if (v >= 1_000) return `${trim(v / 1_000)}k`;
  return trim(v);
}

export function formatLatencyTick(ms: number): string {
  return ms >= 1000 ? `${trim(ms / 1000)} s` : `${trim(ms)} ms`;
}

/** At most 3 decimals, no trailing zeros, no floating-point noise (0.30000000000000004). */
function trim(v: number): string {
  return String(Number(v.toFixed(3)));
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function text(x: number, y: number, content: string, style: { anchor?: 'start' | 'middle' | 'end'; size?: number; weight?: string; fill?: string }): string {
  const attrs = [`x="${round(x)}"`, `y="${round(y)}"`];
  if (style.anchor !== undefined && style.anchor !== 'start') attrs.push(`text-anchor="${style.anchor}"`);
  if (style.size !== undefined) attrs.push(`font-size="${style.size}"`);
  if (style.weight !== undefined) attrs.push(`font-weight="${style.weight}"`);
  if (style.fill !== undefined) attrs.push(`fill="${style.fill}"`);
  return `<text ${attrs.join(' ')}>${escapeXml(content)}</text>`;
}
