// `npm run bench`: what client batching buys, measured in one session against one
// server. Starts `oxia-ts standalone` (temp dir, removed afterwards), warms it up, then
// runs `oxia-ts perf` (a child process per run, as a user would) at maximum rate (rate 0, closed loop with --max-in-flight
// outstanding operations) for each read/write mix twice: with the client's default
// batching (linger 5 ms, up to 1000 requests per batch) and as a baseline with one
// request per operation (linger 0, 1 request per batch). Prints a table with the
// ratios against the baseline. Absolute figures depend on the machine; the ratios are
// the point. Flags:
//   --shards N (1)  --kv sqlite|level (sqlite)  --duration 8s (per run)  --warmup 2s
//   --batching on|off|both (both)  --read-write-percent 80,0 (one pair of runs per mix)
//   --max-in-flight 1000  --value-size 128  --keys-cardinality 1000  --json
//   --cluster N (0)  instead of a standalone server, a local cluster of N storage nodes and a
//                    coordinator (replication factor min(3, N), --shards shards); clients connect
//                    to the first node and follow the shard assignments to each leader
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { formatSummary, PERF_DEFAULTS, type PerfConfig, type PerfSummary } from '../../src/adapters/perf/index.js';
import { OXIA_TS_BIN } from '../../src/bootstrap/dev-cluster/role-process.js';
import { parseDurationMs } from '../../src/bootstrap/config/values.js';
import { TestCluster } from '../support/cluster.js';
import { startStandalone } from '../support/standalone.js';

const { values: flags } = parseArgs({
  options: {
    shards: { type: 'string', default: '1' },
    cluster: { type: 'string', default: '0' },
    kv: { type: 'string', default: 'sqlite' },
    duration: { type: 'string', default: '8s' },
    warmup: { type: 'string', default: '2s' },
    batching: { type: 'string', default: 'both' },
    'read-write-percent': { type: 'string', default: '80,0' },
    'max-in-flight': { type: 'string', default: '1000' },
    'value-size': { type: 'string', default: '128' },
    'keys-cardinality': { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
  },
});

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}
function integer(name: string, text: string, min: number): number {
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < min) usage(`--${name} must be an integer >= ${min}, got "${text}"`);
  return v;
}
function duration(name: string, text: string): number {
  const v = parseDurationMs(text);
  if (v === undefined) usage(`--${name} must be a duration such as 10s, got "${text}"`);
  return v;
}

const shards = integer('shards', flags.shards, 1);
const clusterNodes = integer('cluster', flags.cluster, 0);
const kv = flags.kv === 'sqlite' || flags.kv === 'level' ? flags.kv : usage(`--kv must be sqlite or level, got "${flags.kv}"`);
const durationMs = duration('duration', flags.duration);
const warmupMs = duration('warmup', flags.warmup);
const batching = flags.batching === 'on' || flags.batching === 'off' || flags.batching === 'both' ? flags.batching : usage(`--batching must be on, off or both, got "${flags.batching}"`);
const mixes = flags['read-write-percent'].split(',').map((p) => {
  const v = Number(p);
  if (p.trim() === '' || !(v >= 0 && v <= 100)) usage(`--read-write-percent takes percentages from 0 to 100, got "${p}"`);
  return v;
});

interface Variant {
  readonly name: string;
  readonly batched: boolean;
  readonly batchLingerMs: number;
  readonly maxRequestsPerBatch: number;
}
const BATCHED: Variant = { name: 'batched', batched: true, batchLingerMs: PERF_DEFAULTS.batchLingerMs, maxRequestsPerBatch: PERF_DEFAULTS.maxRequestsPerBatch };
const BASELINE: Variant = { name: 'one request per op', batched: false, batchLingerMs: 0, maxRequestsPerBatch: 1 };
const variants = batching === 'both' ? [BATCHED, BASELINE] : batching === 'on' ? [BATCHED] : [BASELINE];

interface Row {
  readonly variant: Variant;
  readonly readPercentage: number;
  readonly summary: PerfSummary;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** One `oxia-ts perf --json` run in its own process; its summary line. */
function runPerf(c: PerfConfig): Promise<PerfSummary> {
  const args = [
    OXIA_TS_BIN, 'perf', '--json',
    '--service-address', c.serviceAddress,
    '--namespace', c.namespace,
    '--rate', String(c.rate),
    '--read-write-percent', String(c.readPercentage),
    '--keys-cardinality', String(c.keysCardinality),
    '--value-size', String(c.valueSizeBytes),
    '--batch-linger', `${c.batchLingerMs}ms`,
    '--max-requests-per-batch', String(c.maxRequestsPerBatch),
    '--request-timeout', `${c.requestTimeoutMs}ms`,
    '--duration', `${c.durationMs}ms`,
    '--max-in-flight', String(c.maxInFlight),
    '--report-interval', `${c.reportIntervalMs}ms`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(last) as { type?: string } & PerfSummary;
        if (parsed.type === 'summary') return resolve(parsed);
      } catch {
        // Reported below with the process's output.
      }
      reject(new Error(`oxia-ts perf ended with ${code ?? signal}:\n${err}${out}`));
    });
  });
}

/** The system under test: a standalone server, or a replicated cluster. */
async function startTarget(): Promise<{ address: string; describe: string; stop(): Promise<unknown> }> {
  if (clusterNodes === 0) {
    const standalone = await startStandalone({ shards, kv });
    return { address: standalone.address, describe: `oxia-ts standalone --shards ${shards} --kv ${kv}`, stop: () => standalone.stop() };
  }
  const rf = Math.min(3, clusterNodes);
  const cluster = await TestCluster.start({ nodes: clusterNodes, kv, namespaces: [{ name: 'default', shards, rf }] });
  await cluster.leaders();
  const address = cluster.nodes[0]!.publicAddress;
  return { address, describe: `a cluster of ${clusterNodes} oxia-ts server + coordinator, ${shards} shards, replication factor ${rf}, --kv ${kv}`, stop: () => cluster.close() };
}

const server = await startTarget();
const rows: Row[] = [];
try {
  const base = {
    ...PERF_DEFAULTS,
    serviceAddress: server.address,
    rate: 0,
    maxInFlight: integer('max-in-flight', flags['max-in-flight'], 1),
    valueSizeBytes: integer('value-size', flags['value-size'], 0),
    keysCardinality: integer('keys-cardinality', flags['keys-cardinality'], 1),
    reportIntervalMs: 60_000,
  } satisfies PerfConfig;
  log(`bench: ${server.describe} at ${server.address}; ${durationMs / 1000} s per run at maximum rate, ${base.maxInFlight} in flight, ${base.valueSizeBytes} B values, ${base.keysCardinality} keys`);
  if (warmupMs > 0) {
    log(`warm-up: ${warmupMs / 1000} s (writes every key, warms the JIT; not reported)`);
    await runPerf({ ...base, readPercentage: 0, durationMs: warmupMs });
  }
  for (const readPercentage of mixes) {
    for (const variant of variants) {
      log(`run: ${variant.name}, ${readPercentage}% reads ...`);
      const summary = await runPerf({ ...base, readPercentage, durationMs, batchLingerMs: variant.batchLingerMs, maxRequestsPerBatch: variant.maxRequestsPerBatch });
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

if (flags.json) {
  process.stdout.write(
    `${JSON.stringify({
      shards,
      kv,
      clusterNodes,
      durationMs,
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
