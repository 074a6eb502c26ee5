// `npm run bench -- --failover-watch`: false failovers under load (ADR 0024). A 3-node cluster
// (3 shards, replication factor 3) with the coordinator's default health checks, driven by
// `oxia-ts perf` at maximum rate with --max-in-flight callers for --duration, --runs times
// (a fresh cluster each). Nothing fails on purpose, so every election is a false failover.
// Reported per run: elections and nodes declared down (from the coordinator's metrics and the
// stored terms), how long nodes took to answer health checks, reads that found the leader's
// read lease lapsed, the nodes' worst event-loop lag, throughput, and the load average.
import { loadavg } from 'node:os';
import { PERF_DEFAULTS, type PerfSummary } from '../../src/adapters/perf/index.js';
import { TestCluster } from '../support/cluster.js';
import { scrapeMetrics, type MetricSamples } from '../support/metrics-scrape.js';
import { runPerfProcess } from './perf-process.js';

export interface FailoverWatchOptions {
  readonly runs: number;
  readonly durationMs: number;
  readonly callers: number;
  readonly readPercentage: number;
  /** The coordinator's --health-check-timeout (its default when undefined). */
  readonly silenceLimit: string | undefined;
  readonly json: boolean;
}

/** Why the coordinator started elections, from its log lines. */
const ELECTION_REASONS: ReadonlyArray<readonly [string, string]> = [
  ['leader down', 'the leader is down: electing'],
  ['leader balancing', 'electing again to balance leaders'],
  ['ensemble change', 'changing the ensemble'],
  ['address change', 'ensemble members have new addresses'],
  ['restart check', 'the nodes disagree with the stored status'],
];

interface RunResult {
  readonly elections: number;
  readonly electionReasons: Readonly<Record<string, number>>;
  readonly termChanges: number;
  readonly downs: Readonly<Record<string, number>>;
  /** Health checks answered by running nodes, and how many of those answers came after a check had waited longer than each bound (ms). */
  readonly healthChecks: number;
  readonly waitsLongerThan: Readonly<Record<string, number>>;
  readonly leaseWaits: Readonly<Record<string, number>>;
  readonly maxEventLoopLagMs: number;
  /** The waits of at least half the timeout the coordinator logged (ms), longest first. */
  readonly longWaitsMs: readonly number[];
  readonly summary: PerfSummary;
  readonly loadAverage: readonly number[];
}

/** From a cumulative histogram: how many observations exceeded `bound` seconds. */
function slowerThan(m: MetricSamples, name: string, bound: number): number {
  const total = m.sum(`${name}_count`);
  const within = m.all(`${name}_bucket`).filter((s) => Number(s.labels.le) === bound).reduce((t, s) => t + s.value, 0);
  return total - within;
}

async function oneRun(o: FailoverWatchOptions): Promise<RunResult> {
  const cluster = await TestCluster.start({
    nodes: 3,
    namespaces: [{ name: 'default', shards: 3, rf: 3 }],
    defaultHealthChecks: true,
    ...(o.silenceLimit ? { coordinatorArgs: ['--health-check-timeout', o.silenceLimit] } : {}),
  });
  try {
    await cluster.leaders();
    const termsBefore = [...cluster.readStatus().namespaces.get('default')!.shards.values()].map((s) => s.term);
    const coordinatorMetrics = String(cluster.coordinator.serving.metricsAddress);
    const electionsBefore = (await scrapeMetrics(coordinatorMetrics)).sum('oxia_coordinator_leader_elections_total');
    const summary = await runPerfProcess({
      ...PERF_DEFAULTS,
      serviceAddress: cluster.nodes[0]!.publicAddress,
      rate: 0,
      readPercentage: o.readPercentage,
      maxInFlight: o.callers,
      durationMs: o.durationMs,
      reportIntervalMs: 60_000,
    });
    const loadAverage = loadavg();
    const c = await scrapeMetrics(coordinatorMetrics);
    const termsAfter = [...cluster.readStatus().namespaces.get('default')!.shards.values()].map((s) => s.term);
    const downs: Record<string, number> = {};
    for (const s of c.all('oxia_coordinator_node_unavailable_total')) downs[s.labels.reason ?? '?'] = (downs[s.labels.reason ?? '?'] ?? 0) + s.value;
    const wait = 'oxia_coordinator_node_health_check_wait_seconds';
    const nodes = await Promise.all(cluster.nodes.map((n) => scrapeMetrics(String(n.process.serving.metricsAddress))));
    const leaseWaits: Record<string, number> = {};
    for (const m of nodes) for (const s of m.all('oxia_server_read_lease_waits_total')) leaseWaits[s.labels.outcome ?? '?'] = (leaseWaits[s.labels.outcome ?? '?'] ?? 0) + s.value;
    const lags = nodes.map((m) => m.value('nodejs_eventloop_lag_max_seconds') ?? 0);
    // A new cluster's first elections log none of these reasons.
    const lines = cluster.coordinator.lines();
    const electionReasons: Record<string, number> = {};
    for (const [reason, text] of ELECTION_REASONS) {
      const n = lines.filter((l) => l.includes(text)).length;
      if (n > 0) electionReasons[reason] = n;
    }
    const longWaitsMs = cluster.coordinator
      .lines()
      .filter((l) => l.includes('answered a health check late'))
      .map((l) => /"waitedMs":(\d+)/.exec(l)?.[1])
      .filter((m): m is string => m !== undefined)
      .map(Number)
      .sort((a, b) => b - a);
    return {
      elections: c.sum('oxia_coordinator_leader_elections_total') - electionsBefore,
      electionReasons,
      termChanges: termsAfter.reduce((n, t, i) => n + (t === termsBefore[i] ? 0 : 1), 0),
      downs,
      healthChecks: c.sum(`${wait}_count`),
      waitsLongerThan: Object.fromEntries([0.25, 0.5, 1, 2.5, 5].map((b) => [`${b * 1000}ms`, slowerThan(c, wait, b)])),
      leaseWaits,
      maxEventLoopLagMs: Math.max(...lags) * 1000,
      longWaitsMs,
      summary,
      loadAverage,
    };
  } finally {
    await cluster.close();
  }
}

export async function runFailoverWatch(o: FailoverWatchOptions): Promise<void> {
  const results: RunResult[] = [];
  for (let i = 0; i < o.runs; i++) {
    const r = await oneRun(o);
    results.push(r);
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ run: i, ...r })}\n`);
      continue;
    }
    const s = r.summary;
    process.stdout.write(
      [
        `run ${i + 1}/${o.runs}: ${o.callers} callers, ${o.readPercentage}% reads, ${o.durationMs / 1000} s: ` +
          `${Math.round(s.write.opsPerSec)} writes/s (p99 ${s.write.latencyMs.p99} ms, max ${s.write.latencyMs.max} ms), ` +
          `${Math.round(s.read.opsPerSec)} reads/s (p99 ${s.read.latencyMs.p99} ms, max ${s.read.latencyMs.max} ms), ${s.failed} failed, ` +
          `load average ${r.loadAverage.map((l) => l.toFixed(1)).join(' ')}`,
        `  elections ${r.elections} ${JSON.stringify(r.electionReasons)}, shards with a new term ${r.termChanges}, nodes declared down ${JSON.stringify(r.downs)}`,
        `  health checks answered ${r.healthChecks}, after a check had waited longer than ${JSON.stringify(r.waitsLongerThan)}`,
        `  reads that found the lease lapsed ${JSON.stringify(r.leaseWaits)}, worst event-loop lag of a node ${r.maxEventLoopLagMs.toFixed(0)} ms`,
        `  waits of half the timeout or more (ms): ${r.longWaitsMs.join(', ') || 'none'}`,
      ].join('\n') + '\n',
    );
  }
  const total = results.reduce((n, r) => n + r.elections, 0);
  if (!o.json) process.stdout.write(`${total} election(s) in ${o.runs} run(s) of ${o.durationMs / 1000} s\n`);
}
