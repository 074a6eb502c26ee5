// The batching bench of `npm run bench` (see run.ts): `oxia-ts perf` at maximum rate against a
// standalone server or a local cluster, each read/write mix with the client's default batching
// and with one request per operation, and the ratio between them.
import { formatSummary, PERF_DEFAULTS, type PerfConfig, type PerfSummary } from '../../src/adapters/perf/index.js';
import { TestCluster } from '../support/cluster.js';
import { startStandalone } from '../support/standalone.js';
import { runPerfProcess as runPerf } from './perf-process.js';

export interface BatchingOptions {
  readonly shards: number;
  /** 0: a standalone server. */
  readonly clusterNodes: number;
  readonly kv: 'sqlite' | 'level';
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly batching: 'on' | 'off' | 'both';
  /** Read percentages, one pair of runs each. */
  readonly mixes: readonly number[];
  readonly maxInFlight: number;
  readonly valueSizeBytes: number;
  readonly keysCardinality: number;
  readonly json: boolean;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Variant {
  readonly name: string;
  readonly batched: boolean;
  readonly batchLingerMs: number;
  readonly maxRequestsPerBatch: number;
}
const BATCHED: Variant = { name: 'batched', batched: true, batchLingerMs: PERF_DEFAULTS.batchLingerMs, maxRequestsPerBatch: PERF_DEFAULTS.maxRequestsPerBatch };
const BASELINE: Variant = { name: 'one request per op', batched: false, batchLingerMs: 0, maxRequestsPerBatch: 1 };
const variantsOf = (batching: 'on' | 'off' | 'both'): Variant[] => batching === 'both' ? [BATCHED, BASELINE] : batching === 'on' ? [BATCHED] : [BASELINE];

interface Row {
  readonly variant: Variant;
  readonly readPercentage: number;
  readonly summary: PerfSummary;
}

/** The system under test: a standalone server, or a replicated cluster. */
async function startTarget(o: BatchingOptions): Promise<{ address: string; describe: string; stop(): Promise<unknown> }> {
  if (o.clusterNodes === 0) {
    const standalone = await startStandalone({ shards: o.shards, kv: o.kv });
    return { address: standalone.address, describe: `oxia-ts standalone --shards ${o.shards} --kv ${o.kv}`, stop: () => standalone.stop() };
  }
  const rf = Math.min(3, o.clusterNodes);
  const cluster = await TestCluster.start({ nodes: o.clusterNodes, kv: o.kv, namespaces: [{ name: 'default', shards: o.shards, rf }] });
  await cluster.leaders();
  const address = cluster.nodes[0]!.publicAddress;
  return { address, describe: `a cluster of ${o.clusterNodes} oxia-ts server + coordinator, ${o.shards} shards, replication factor ${rf}, --kv ${o.kv}`, stop: () => cluster.close() };
}

export async function runBatchingBench(o: BatchingOptions): Promise<void> {
  const server = await startTarget(o);
  const rows: Row[] = [];
  try {
    const base = {
      ...PERF_DEFAULTS,
      serviceAddress: server.address,
      rate: 0,
      maxInFlight: o.maxInFlight,
      valueSizeBytes: o.valueSizeBytes,
      keysCardinality: o.keysCardinality,
      reportIntervalMs: 60_000,
    } satisfies PerfConfig;
    log(`bench: ${server.describe} at ${server.address}; ${o.durationMs / 1000} s per run at maximum rate, ${base.maxInFlight} in flight, ${base.valueSizeBytes} B values, ${base.keysCardinality} keys`);
    if (o.warmupMs > 0) {
      log(`warm-up: ${o.warmupMs / 1000} s (writes every key, warms the JIT; not reported)`);
      await runPerf({ ...base, readPercentage: 0, durationMs: o.warmupMs });
    }
    for (const readPercentage of o.mixes) {
      for (const variant of variantsOf(o.batching)) {
        log(`run: ${variant.name}, ${readPercentage}% reads ...`);
        const summary = await runPerf({ ...base, readPercentage, durationMs: o.durationMs, batchLingerMs: variant.batchLingerMs, maxRequestsPerBatch: variant.maxRequestsPerBatch });
        if (summary.failed > 0) log(formatSummary(summary));
        rows.push({ variant, readPercentage, summary });
      }
    }
  } finally {
    await server.stop();
  }

  const baselineOf = (row: Row) => rows.find((r) => !r.variant.batched && r.readPercentage === row.readPercentage);
  const ratio = (row: Row): number | undefined => {
    const b = baselineOf(row);
    return b === undefined || b.summary.opsPerSec === 0 ? undefined : row.summary.opsPerSec / b.summary.opsPerSec;
  };

  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({
        shards: o.shards,
        kv: o.kv,
        clusterNodes: o.clusterNodes,
        durationMs: o.durationMs,
        runs: rows.map((r) => ({
          variant: r.variant.name,
          batchLingerMs: r.variant.batchLingerMs,
          maxRequestsPerBatch: r.variant.maxRequestsPerBatch,
          readPercentage: r.readPercentage,
          opsPerSec: r.summary.opsPerSec,
          failed: r.summary.failed,
          write: r.summary.write,
          read: r.summary.read,
          ratioToBaseline: ratio(r) ?? null,
        })),
      })}\n`,
    );
  } else {
    const header = ['run', 'linger', 'per batch', 'reads', 'ops/s', 'writes/s', 'reads/s', 'write p50/p99 ms', 'read p50/p99 ms', 'failed', 'vs baseline'];
    const table = rows.map((r) => {
      const s = r.summary;
      const x = ratio(r);
      return [
        r.variant.name,
        `${r.variant.batchLingerMs} ms`,
        String(r.variant.maxRequestsPerBatch),
        `${r.readPercentage}%`,
        s.opsPerSec.toFixed(0),
        s.write.opsPerSec.toFixed(0),
        s.read.opsPerSec.toFixed(0),
        s.write.ops > 0 ? `${s.write.latencyMs.p50.toFixed(1)} / ${s.write.latencyMs.p99.toFixed(1)}` : '-',
        s.read.ops > 0 ? `${s.read.latencyMs.p50.toFixed(1)} / ${s.read.latencyMs.p99.toFixed(1)}` : '-',
        String(s.failed),
        x === undefined ? '-' : `${x.toFixed(2)}x`,
      ];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] as string).length)));
    const render = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
    process.stdout.write(`\n${render(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${table.map(render).join('\n')}\n`);
    if (rows.some((r) => ratio(r) !== undefined && r.variant.batched)) {
      process.stdout.write('\n"vs baseline": throughput of the run divided by the one-request-per-operation run with the same mix, same server, same session.\n');
    }
  }
}
