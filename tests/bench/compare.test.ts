// The pure parts of `npm run bench -- --compare`: its flags, the Markdown tables and the SVG
// chart. No server runs here (the bench itself is never part of `npm test`).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/bootstrap/config/option-table.js';
import { callersAxis, escapeXml, formatCount, formatLatencyTick, linearAxis, logAxis, niceStep, renderChart, SYSTEM_COLOURS } from './compare/chart.js';
import { COMPARE_DEFAULTS, parseCompareArgs, QUICK } from './compare/options.js';
import { medianPoints, type CompareReport, type PointResult } from './compare/results.js';
import { median } from './median.js';
import { formatMs, renderCpuTable, renderMarkdown, renderOperationTable, renderRatioTable, renderRoundsTable, renderTables } from './compare/table.js';

const S = suite('bench --compare');

function problemsOf(argv: string[]): string[] {
  try {
    parseCompareArgs(argv);
  } catch (e) {
    assert.instance(e, ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error(`accepted ${argv.join(' ')}`);
}

S('defaults: all three systems, puts and gets, 1/16/64/256 callers, 8 s per point; --compare itself is accepted', () => {
  const o = parseCompareArgs(['--compare']);
  assert.equal(o, COMPARE_DEFAULTS);
  assert.equal(o.systems, ['etcd', 'zookeeper', 'oxia-ts']);
  assert.equal(o.concurrencies, [1, 16, 64, 256]);
  assert.is(o.durationMs, 8_000);
  assert.is(o.valueSizeBytes, 128);
});

S('--quick shortens the points; an explicit --duration, --warmup or --start-warmup wins over it', () => {
  const quick = parseCompareArgs(['--quick']);
  assert.is(quick.durationMs, QUICK.durationMs);
  assert.is(quick.warmupMs, QUICK.warmupMs);
  assert.is(quick.startWarmupMs, QUICK.startWarmupMs);
  const both = parseCompareArgs(['--quick', '--duration', '3s', '--warmup', '0', '--start-warmup', '30s']);
  assert.is(both.durationMs, 3_000);
  assert.is(both.warmupMs, 0);
  assert.is(both.startWarmupMs, 30_000);
  assert.is(parseCompareArgs([]).startWarmupMs, 10_000);
  assert.throws(() => parseCompareArgs(['--start-warmup', 'soon']), /start-warmup/);
});

S('lists keep the canonical order without repeats; concurrencies are sorted and unique', () => {
  const o = parseCompareArgs(['--systems', 'oxia-ts,etcd,oxia-ts', '--ops', 'get', '--concurrency', '64,1,64,8', '--keys', '50', '--value-size', '1024', '--oxia-shards', '1', '--out', '/tmp/x']);
  assert.equal(o.systems, ['etcd', 'oxia-ts']);
  assert.equal(o.operations, ['get']);
  assert.equal(o.concurrencies, [1, 8, 64]);
  assert.is(o.keys, 50);
  assert.is(o.valueSizeBytes, 1024);
  assert.is(o.oxiaShards, 1);
  assert.is(o.outDir, '/tmp/x');
});

S('every bad flag is reported at once, naming the flag', () => {
  const problems = problemsOf(['--systems', 'etcd,consul', '--concurrency', '0,4', '--duration', 'soon', '--keys', '1.5', '--ops', 'delete']);
  assert.is(problems.length, 5);
  for (const flag of ['--systems', '--concurrency', '--duration', '--keys', '--ops']) assert.ok(problems.some((p) => p.startsWith(flag)), `${flag} in ${problems.join(' | ')}`);
  assert.match(problemsOf(['--duration', '10ms'])[0]!, /at least 100 ms/);
  assert.match(problemsOf(['--clusters', '3'])[0]!, /clusters/);
  assert.match(problemsOf(['stray'])[0]!, /stray/);
});

function point(system: PointResult['system'], operation: PointResult['operation'], concurrency: number, opsPerSec: number, p99Ms: number, extra: Partial<PointResult> = {}): PointResult {
  return { system, operation, concurrency, ops: opsPerSec * 8, opsPerSec, failed: 0, p50Ms: p99Ms / 4, p99Ms, p999Ms: p99Ms * 2, elapsedMs: 8_000, ...extra };
}

const REPORT: CompareReport = {
  machine: { date: '2025-01-02T03:04:05Z', cpus: 2, cpuModel: 'Test CPU', memoryGiB: 8, node: '20.0.0', os: 'Linux 6', loadAverageStart: 0.5, loadAverageEnd: 1.25, commit: 'abc1234' },
  workload: { durationMs: 8_000, warmupMs: 2_000, keys: 1_000, valueSizeBytes: 128, concurrencies: [1, 16], operations: ['put', 'get'] },
  turns: [
    { system: 'etcd', status: 'ran', detail: 'etcd 3.4.23, 3 members', settings: ['linearizable reads'] },
    { system: 'zookeeper', status: 'skipped', detail: 'not installed on this machine (`apt-get install -y zookeeper`)', settings: ['forceSync=yes'] },
    { system: 'oxia-ts', status: 'ran', detail: 'oxia-ts 0.1.0, 3 nodes', settings: [] },
  ],
  points: [
    point('etcd', 'put', 1, 740, 4.2, { serverCpuPercent: 35, clientCpuPercent: 20, otherCpuPercent: 7 }),
    point('etcd', 'put', 16, 2177.4, 20.08, { serverCpuPercent: 120 }),
    point('etcd', 'get', 1, 1256, 3.6),
    point('etcd', 'get', 16, 3187, 17.9),
    point('oxia-ts', 'put', 1, 122, 12.72),
    point('oxia-ts', 'put', 16, 12345.6, 123.4, { failed: 3, lastError: 'timed out' }),
    point('oxia-ts', 'get', 1, 155, 0.42),
  ],
};

S('a table per operation: a row per number of callers, each system side by side, "–" where no point was measured', () => {
  const lines = renderOperationTable(REPORT, 'put').split('\n');
  assert.is(lines.length, 4);
  assert.is(lines[0], '| callers | etcd ops/s | etcd p50 / p99 / p99.9 ms | ZooKeeper ops/s | ZooKeeper p50 / p99 / p99.9 ms | oxia-ts ops/s | oxia-ts p50 / p99 / p99.9 ms |');
  assert.is(lines[1], '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  assert.is(lines[2], '| 1 | 740 | 1.05 / 4.20 / 8.40 | – | – | 122 | 3.18 / 12.7 / 25.4 |');
  assert.is(lines[3], '| 16 | 2,177 | 5.02 / 20.1 / 40.2 | – | – | 12,346 (3 failed) | 30.9 / 123 / 247 |');
  const gets = renderOperationTable(REPORT, 'get').split('\n');
  assert.is(gets[3], '| 16 | 3,187 | 4.47 / 17.9 / 35.8 | – | – | – | – |');
});

S('the CPU table: servers + load generator per system and operation, "?" for a figure not taken', () => {
  const lines = renderCpuTable(REPORT)!.split('\n');
  assert.is(lines[0], '| callers | etcd puts | etcd gets | ZooKeeper puts | ZooKeeper gets | oxia-ts puts | oxia-ts gets |');
  assert.is(lines[2], '| 1 | 35% + 20% (7%) | ? + ? | – | – | ? + ? | ? + ? |');
  assert.is(lines[3], '| 16 | 120% + ? | ? + ? | – | – | ? + ? | – |');
  const withoutCpu = { ...REPORT, points: REPORT.points.map(({ serverCpuPercent: _s, clientCpuPercent: _c, otherCpuPercent: _o, ...p }) => p) };
  assert.is(renderCpuTable(withoutCpu), undefined);
  assert.not.ok(renderMarkdown(withoutCpu, 'chart.svg').includes('## CPU'));
  assert.ok(renderMarkdown(REPORT, 'chart.svg').includes('## CPU'));
  assert.ok(renderTables(REPORT).includes('CPU during the measured time'));
});

S('latencies keep about three significant digits', () => {
  assert.is(formatMs(0.4213), '0.42');
  assert.is(formatMs(9.999), '10.00');
  assert.is(formatMs(27.54), '27.5');
  assert.is(formatMs(312.6), '313');
});

S('the report names the machine, the workload, each system\'s settings and status, the chart and the failures', () => {
  const md = renderMarkdown(REPORT, 'chart.svg');
  assert.ok(md.includes('Run 2025-01-02T03:04:05Z at oxia-ts commit abc1234 on 2 CPUs (Test CPU), 8 GiB memory'));
  assert.ok(md.includes('load average 0.50 at the start, 1.25 at the end'));
  assert.ok(md.includes('128-byte values over 1,000 keys'));
  assert.ok(md.includes('written before the first point; per point 2 s warm-up, then 8 s measured'));
  const warmed = renderMarkdown({ ...REPORT, workload: { ...REPORT.workload, startWarmupMs: 10_000 } }, 'chart.svg');
  assert.ok(warmed.includes('written before the first point, then 10 s of unmeasured load at 16 callers (put and get) so that JIT-compiled code is optimized; per point 2 s warm-up'));
  assert.ok(md.includes('![throughput and p99 latency against callers](chart.svg)'));
  assert.ok(md.includes('### ZooKeeper (skipped)\n\nnot installed on this machine (`apt-get install -y zookeeper`)\n\n- forceSync=yes'));
  assert.ok(md.includes('### etcd (ran)\n\netcd 3.4.23, 3 members\n\n- linearizable reads'));
  assert.ok(md.includes('- oxia-ts put × 16: 3 failed, last: timed out'));
  assert.ok(md.includes('## Puts\n\n| callers') && md.includes('## Gets\n\n| callers'));
  assert.ok(renderTables(REPORT).startsWith('Puts\n\n| callers'));
});

S('--rounds: one by default; more alternate the systems and report medians', () => {
  assert.is(parseCompareArgs([]).rounds, 1);
  assert.is(parseCompareArgs(['--rounds', '3']).rounds, 3);
  assert.match(problemsOf(['--rounds', '0'])[0]!, /^--rounds must be an integer >= 1/);
});

S('medians of rounds: each figure on its own, failures added up, a single round kept as it is', () => {
  const rounds = [
    point('etcd', 'put', 16, 1000, 20, { round: 1, p50Ms: 9, clientCpuPercent: 30 }),
    point('etcd', 'put', 16, 3000, 10, { round: 2, p50Ms: 1, failed: 2, lastError: 'timeout 2' }),
    point('etcd', 'put', 16, 2000, 40, { round: 3, p50Ms: 5, failed: 1, lastError: 'timeout 3' }),
    point('oxia-ts', 'put', 16, 100, 1, { round: 1 }),
    point('oxia-ts', 'put', 16, 300, 3, { round: 2 }),
    point('oxia-ts', 'get', 1, 55, 0.5, { round: 1 }),
  ];
  const [etcd, oxia, single] = medianPoints(rounds);
  assert.is(etcd!.opsPerSec, 2000);
  assert.is(etcd!.p99Ms, 20);
  assert.is(etcd!.p50Ms, 5);
  assert.is(etcd!.failed, 3);
  assert.is(etcd!.lastError, 'timeout 3');
  assert.is(etcd!.clientCpuPercent, 30);
  assert.is(etcd!.serverCpuPercent, undefined);
  assert.is(oxia!.opsPerSec, 200, 'even count: the mean of the middle two');
  assert.is(oxia!.lastError, undefined);
  assert.equal(single, rounds[5]);
  assert.is(median([3, 1, 2]), 2);
});

S('ratios against etcd: throughput and latencies per operation and callers, "–" where either lacks the point', () => {
  const table = renderRatioTable(REPORT, 'oxia-ts', 'etcd')!.split('\n');
  assert.is(table[0], '| callers | puts/s × | put p50 × | put p99 × | gets/s × | get p50 × | get p99 × |');
  assert.is(table[2], '| 1 | 0.16 | 3.03 | 3.03 | 0.12 | 0.12 | 0.12 |');
  assert.is(table[3], '| 16 | 5.67 | 6.15 | 6.15 | – | – | – |');
  assert.is(renderRatioTable(REPORT, 'zookeeper', 'etcd'), undefined, 'no points, no table');
  assert.ok(renderTables(REPORT).includes('oxia-ts over etcd (throughput: higher is better; latency: lower is better)'));
  assert.ok(renderMarkdown(REPORT, 'chart.svg').includes('## oxia-ts over etcd'));
});

S('several rounds: the report says the figures are medians and lists every round', () => {
  const roundPoints = [point('etcd', 'put', 1, 700, 4, { round: 1 }), point('etcd', 'put', 1, 900, 4, { round: 2 }), point('etcd', 'put', 1, 800, 4, { round: 3 })];
  const report: CompareReport = { ...REPORT, workload: { ...REPORT.workload, rounds: 3 }, points: medianPoints(roundPoints), roundPoints };
  const rounds = renderRoundsTable(report)!.split('\n');
  assert.is(rounds[0], '| system | operation | callers | round 1 ops/s | round 2 ops/s | round 3 ops/s | median |');
  assert.is(rounds[2], '| etcd | put | 1 | 700 | 900 | 800 | 800 |');
  assert.ok(renderMarkdown(report, 'chart.svg').includes('Each figure is the median of 3 alternating rounds.'));
  assert.ok(renderMarkdown(report, 'chart.svg').includes('## Rounds'));
  assert.is(renderRoundsTable(REPORT), undefined, 'one round: no rounds table');
  assert.not.ok(renderMarkdown(REPORT, 'chart.svg').includes('median of'));
});

S('axes: callers on log2, throughput from zero to a round top, p99 over whole decades', () => {
  const x = callersAxis([1, 16, 256], 0, 100);
  assert.is(x(1), 5);
  assert.is(x(16), 50);
  assert.is(x(256), 95);
  assert.is(callersAxis([8], 0, 100)(8), 50);

  const lin = linearAxis([740, 2177], 0, 100);
  assert.equal(lin.ticks, [0, 500, 1000, 1500, 2000, 2500]);
  assert.is(lin.yOf(0), 100);
  assert.is(lin.yOf(2500), 0);

  const log = logAxis([0.42, 123.4], 0, 300);
  assert.equal(log.ticks, [0.1, 1, 10, 100, 1000]);
  assert.equal(log.minorTicks.length, 8);
  assert.equal(log.minorTicks.slice(0, 2), [0.2, 0.5]);
  assert.is(log.yOf(1000), 0);
  assert.ok(Math.abs(log.yOf(1) - 225) < 1e-9);
  assert.equal(logAxis([5, 5], 0, 10).ticks, [1, 10]);

  assert.is(niceStep(435), 500);
  assert.is(niceStep(0.13), 0.2);
  assert.is(formatCount(2500), '2.5k');
  assert.is(formatCount(1_200_000), '1.2M');
  assert.is(formatLatencyTick(0.1), '0.1 ms');
  assert.is(formatLatencyTick(1000), '1 s');
  assert.is(escapeXml('a<b & "c">'), 'a&lt;b &amp; &quot;c&quot;&gt;');
});

S('the chart: four panels, a line per system that has points, markers inside the plot, no NaN', () => {
  const svg = renderChart(REPORT);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.not.match(svg, /NaN|undefined|Infinity/);
  for (const title of ['puts: throughput (ops/s)', 'puts: p99 latency', 'gets: throughput (ops/s)', 'gets: p99 latency']) assert.ok(svg.includes(`>${title}</text>`), title);
  // etcd and oxia-ts have points; ZooKeeper was skipped: no line, not in the legend.
  const lines = [...svg.matchAll(/<polyline [^>]*stroke="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(lines, [SYSTEM_COLOURS.etcd, SYSTEM_COLOURS['oxia-ts'], SYSTEM_COLOURS.etcd, SYSTEM_COLOURS['oxia-ts'], SYSTEM_COLOURS.etcd, SYSTEM_COLOURS.etcd]);
  assert.ok(svg.includes('>etcd</text>') && svg.includes('>oxia-ts</text>'));
  assert.not.ok(svg.includes('>ZooKeeper</text>'));
  assert.not.ok(svg.includes(SYSTEM_COLOURS.zookeeper));
  // 7 points, each in a throughput and a p99 panel.
  const circles = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
  assert.is(circles.length, 14);
  const [, , width, height] = /viewBox="([\d. ]+)"/.exec(svg)![1]!.split(' ').map(Number);
  for (const [cx, cy] of circles) assert.ok(cx > 0 && cx < width! && cy > 0 && cy < height!, `${cx},${cy}`);
  assert.ok(svg.includes('<title>oxia-ts, 16 callers: 12,346 ops/s</title>'));
  assert.ok(svg.includes('<title>oxia-ts, 1 caller: 0.42 ms</title>'));
});

S.run();
