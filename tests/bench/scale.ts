// `npm run bench -- --scale [--keys 1000000]`: how the cost of a cluster grows with its data
// (issue 8). On a local cluster (tests/support/cluster.ts, as `--cluster`) it loads `--keys`
// records through the oxia-ts client (batched, many in flight), then measures:
//   - list and rangeScan throughput over the whole namespace and over one prefix;
//   - a closed-loop put load and get load (`oxia-ts perf`, --max-in-flight callers each
//     awaiting its operation) over the loaded keys;
//   - a storage node restarted after SIGKILL and after SIGTERM, with a put load (as above) on the
//     others while it is down (--down-time): until it logs "serving", until its readiness probe
//     says SERVING, until every shard it holds has applied what its leader committed, and how long
//     a write to each shard issued at the signal waited;
//   - the same node with its data directories wiped: an empty follower, which catches up by
//     a snapshot of each shard's store;
//   - every node's resident memory (VmRSS) after each phase and its peak (VmHWM, reset at
//     the start of each phase) during it, with the JS heap from the node's metrics.
// Absolute figures depend on the machine and on what else runs on it: the load average is
// printed with each phase.
import { randomFillSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { PERF_DEFAULTS, type PerfSummary } from '../../src/adapters/perf/index.js';
import { TestCluster, type ClusterNode } from '../support/cluster.js';
import { HealthClient, ServingStatus } from '../support/health-client.js';
import { scrapeMetrics } from '../support/metrics-scrape.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { loadClientModule } from './compiled-client.js';
import { runPerfProcess } from './perf-process.js';
import { readMemory, resetPeak } from './process-memory.js';

export interface ScaleOptions {
  readonly keys: number;
  readonly nodes: number;
  readonly shards: number;
  readonly kv: 'sqlite' | 'level';
  readonly valueSizeBytes: number;
  /** Callers of the put and get loads. */
  readonly callers: number;
  /** Length of each of the put and get loads. */
  readonly loadDurationMs: number;
  /** How long a stopped node stays down, under a put load, before it starts again. */
  readonly downTimeMs: number;
  /** The servers' --db-cache-size-mb; undefined leaves their default. */
  readonly dbCacheSizeMb: number | undefined;
  readonly json: boolean;
}

/** Puts outstanding while loading (the client's default admission bound). */
const LOAD_IN_FLIGHT = 10_000;
const NAMESPACE = 'default';
const CATCH_UP_TIMEOUT_MS = 10 * 60_000;
const MiB = 1024 * 1024;

interface NodeMemory {
  readonly node: string;
  readonly rssBytes: number;
  /** Peak resident set during the phase (since the process started, for a process started in it). */
  readonly peakBytes: number;
  readonly heapUsedBytes: number | undefined;
  /** V8's heap as committed (used plus its headroom). */
  readonly heapTotalBytes: number | undefined;
  /** Memory of ArrayBuffers and Buffers outside the V8 heap. */
  readonly externalBytes: number | undefined;
  /** What the node's read cache holds, as it counts it (--db-cache-size-mb bounds it). */
  readonly readCacheBytes: number | undefined;
}

interface MemoryRow {
  readonly phase: string;
  readonly loadAverage: readonly number[];
  readonly nodes: readonly NodeMemory[];
}

interface ScanRow {
  readonly what: string;
  readonly keys: number;
  readonly seconds: number;
  readonly keysPerSec: number;
}

interface RestartRow {
  readonly how: string;
  /** From the signal to the process's exit. */
  readonly stopMs: number;
  /** Writes the other nodes took while it was down. */
  readonly writesWhileDown: number;
  /** From the launch to the "serving" line. */
  readonly servingMs: number;
  /** From the launch to readiness SERVING. */
  readonly readyMs: number;
  /** From the launch to every shard on the node applied up to its leader's commit offset. */
  readonly caughtUpMs: number;
  /** From the signal to a write to each shard (issued then) succeeding: the longest of them (NaN: one failed). */
  readonly writeGapMs: number;
  readonly snapshotsSent: number;
  readonly snapshotBytes: number;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const now = (): number => performance.now();
const loadAverage = (): number[] => loadavg().map((l) => Math.round(l * 100) / 100);

export async function runScaleBench(o: ScaleOptions): Promise<void> {
  const startedLoad = loadAverage();
  const cache = o.dbCacheSizeMb === undefined ? '' : `, --db-cache-size-mb ${o.dbCacheSizeMb}`;
  log(`scale bench: ${o.keys} keys of ${o.valueSizeBytes} B, ${o.nodes} nodes, ${o.shards} shards, RF ${Math.min(3, o.nodes)}, --kv ${o.kv}${cache}; load average ${startedLoad.join(' ')}`);
  const cluster = await TestCluster.start({
    nodes: o.nodes,
    kv: o.kv,
    namespaces: [{ name: NAMESPACE, shards: o.shards, rf: Math.min(3, o.nodes) }],
    serverArgs: o.dbCacheSizeMb === undefined ? [] : ['--db-cache-size-mb', String(o.dbCacheSizeMb)],
  });
  const { module: clientLib, compiled } = await loadClientModule();
  const memory: MemoryRow[] = [];
  const scans: ScanRow[] = [];
  const restarts: RestartRow[] = [];
  const loads: Array<{ what: string; summary: PerfSummary }> = [];
  let loading: { seconds: number; keysPerSec: number; failed: number } | undefined;
  try {
    await cluster.leaders(NAMESPACE);
    const address = cluster.nodes[0]!.publicAddress;
    const victim = cluster.nodes[cluster.nodes.length - 1]!;
    const client = await clientLib.OxiaClient.connect(address, { namespace: NAMESPACE, maxPendingRequests: LOAD_IN_FLIGHT, logger: { warn: () => {} } });
    try {
      const phase = beginPhase(cluster);
      memory.push(await phase.end('idle'));

      // Loading.
      const value = randomFillSync(Buffer.alloc(o.valueSizeBytes));
      const load = beginPhase(cluster);
      loading = await loadKeys(client, o.keys, value);
      memory.push(await load.end(`loaded ${o.keys} keys`));

      // Scans.
      const scanPhase = beginPhase(cluster);
      const prefix = 'key-1';
      const prefixEnd = 'key-2';
      scans.push(await timed('list, whole namespace', async () => (await client.list('', '')).length));
      scans.push(await timed(`list, prefix "${prefix}"`, async () => (await client.list(prefix, prefixEnd)).length));
      scans.push(await timed('rangeScan, whole namespace', () => countScan(client.rangeScan('', ''))));
      scans.push(await timed(`rangeScan, prefix "${prefix}"`, () => countScan(client.rangeScan(prefix, prefixEnd))));
      memory.push(await scanPhase.end('scans'));

      // Closed-loop put and get loads.
      const perfLoad = (readPercentage: number, durationMs: number): Promise<PerfSummary> =>
        runPerfProcess({
          ...PERF_DEFAULTS,
          serviceAddress: address,
          namespace: NAMESPACE,
          rate: 0,
          readPercentage,
          keysCardinality: o.keys,
          valueSizeBytes: o.valueSizeBytes,
          durationMs,
          maxInFlight: o.callers,
          reportIntervalMs: 60_000,
        });
      for (const [what, readPercentage] of [['put', 0], ['get', 100]] as const) {
        const p = beginPhase(cluster);
        log(`${what} load: ${o.callers} callers for ${o.loadDurationMs / 1000} s ...`);
        loads.push({ what, summary: await perfLoad(readPercentage, o.loadDurationMs) });
        memory.push(await p.end(`${what} load`));
      }

      // Restarts of one node, which misses the writes of a put load while it is down.
      const probes = probeKeys(await cluster.leaders(NAMESPACE));
      const whileDown = async (): Promise<number> => {
        if (o.downTimeMs === 0) return 0;
        const summary = await perfLoad(0, o.downTimeMs);
        return summary.write.ops;
      };
      for (const how of ['SIGKILL', 'SIGTERM', 'wiped'] as const) {
        const p = beginPhase(cluster);
        restarts.push(await restart(cluster, victim, how, client, probes, value, whileDown));
        memory.push(await p.end(how === 'wiped' ? `${victim.name} wiped, caught up` : `${how} restart of ${victim.name}`));
      }
    } finally {
      await client.close();
    }
  } finally {
    await cluster.close();
  }

  const endedLoad = loadAverage();
  const report = { keys: o.keys, valueSizeBytes: o.valueSizeBytes, nodes: o.nodes, shards: o.shards, kv: o.kv, dbCacheSizeMb: o.dbCacheSizeMb ?? null, compiledClient: compiled, loadAverage: { start: startedLoad, end: endedLoad }, loading, scans, loads, restarts, memory };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(report, (_, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}\n`);
    return;
  }
  process.stdout.write(formatReport(report));
}

/** A phase's memory: peaks are reset at its start, read with the resident sets at its end. */
function beginPhase(cluster: TestCluster): { end(name: string): Promise<MemoryRow> } {
  for (const n of cluster.nodes) if (n.running && n.process.pid !== undefined) resetPeak(n.process.pid);
  return {
    async end(name) {
      const nodes: NodeMemory[] = [];
      for (const n of cluster.nodes) {
        if (!n.running || n.process.pid === undefined) continue;
        const m = readMemory(n.process.pid);
        const metrics = await scrapeMetrics(String(n.process.serving.metricsAddress)).catch(() => undefined);
        nodes.push({
          node: n.name,
          rssBytes: m.rssBytes,
          peakBytes: m.peakBytes,
          heapUsedBytes: metrics?.value('nodejs_heap_size_used_bytes'),
          heapTotalBytes: metrics?.value('nodejs_heap_size_total_bytes'),
          externalBytes: metrics?.value('nodejs_external_memory_bytes'),
          readCacheBytes: metrics?.value('oxia_server_read_cache_size_bytes'),
        });
      }
      log(`memory, ${name}: ${nodes.map((n) => `${n.node} ${mib(n.rssBytes)} (peak ${mib(n.peakBytes)}) MiB`).join(', ')}`);
      return { phase: name, loadAverage: loadAverage(), nodes };
    },
  };
}

type Client = Awaited<ReturnType<Awaited<ReturnType<typeof loadClientModule>>['module']['OxiaClient']['connect']>>;

/** Puts key-0 .. key-<n-1> with LOAD_IN_FLIGHT callers, each awaiting its put. */
async function loadKeys(client: Client, keys: number, value: Buffer): Promise<{ seconds: number; keysPerSec: number; failed: number }> {
  log(`loading ${keys} keys, ${LOAD_IN_FLIGHT} in flight ...`);
  const started = now();
  let next = 0;
  let done = 0;
  let failed = 0;
  let lastError: unknown;
  const progress = setInterval(() => log(`  ${done} keys, ${Math.round(done / ((now() - started) / 1000))} keys/s`), 10_000);
  const caller = async (): Promise<void> => {
    while (next < keys) {
      const i = next++;
      try {
        await client.put(`key-${i}`, value);
      } catch (e) {
        failed++;
        lastError = e;
      }
      done++;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(LOAD_IN_FLIGHT, keys) }, caller));
  } finally {
    clearInterval(progress);
  }
  const seconds = (now() - started) / 1000;
  if (failed > 0) log(`  ${failed} puts failed, the last with: ${String(lastError)}`);
  log(`  loaded in ${seconds.toFixed(1)} s, ${Math.round(keys / seconds)} keys/s`);
  return { seconds, keysPerSec: keys / seconds, failed };
}

async function countScan(scan: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of scan) n++;
  return n;
}

async function timed(what: string, run: () => Promise<number>): Promise<ScanRow> {
  const started = now();
  const keys = await run();
  const seconds = (now() - started) / 1000;
  log(`${what}: ${keys} keys in ${seconds.toFixed(2)} s`);
  return { what, keys, seconds, keysPerSec: keys / seconds };
}

/** One key per shard, so that a write to each shard can be timed. */
function probeKeys(shards: ReadonlyArray<{ shard: bigint; min: number; max: number; leader: string }>): string[] {
  const keys = new Map<bigint, string>();
  for (let i = 0; keys.size < shards.length; i++) {
    const key = `probe-${i}`;
    const shard = RawOxiaClient.shardFor([...shards], key);
    if (!keys.has(shard)) keys.set(shard, key);
  }
  return [...keys.values()];
}

/** Stops `victim` (SIGKILL, SIGTERM, or SIGTERM and wiping its data), starts it again, and times its return. */
async function restart(
  cluster: TestCluster,
  victim: ClusterNode,
  how: 'SIGKILL' | 'SIGTERM' | 'wiped',
  client: Client,
  probes: readonly string[],
  value: Buffer,
  whileDown: () => Promise<number>,
): Promise<RestartRow> {
  log(`restart of ${victim.name} (${how}) ...`);
  const snapshotsBefore = await snapshotsSent(cluster, victim);
  const signalled = now();
  // Writes issued at the signal: each waits (the client retries) until its shard has a leader again.
  const writes = Promise.all(
    probes.map((key) =>
      client.put(key, value).then(
        () => now() - signalled,
        (e: unknown) => {
          log(`  the write to ${key} issued at the signal failed: ${String(e)}`);
          return Number.NaN;
        },
      ),
    ),
  );
  if (how === 'SIGKILL') await victim.kill9();
  else await victim.stop();
  const stopMs = now() - signalled;
  const writesWhileDown = await whileDown();
  if (how === 'wiped') {
    for (const dir of ['db', 'wal']) rmSync(join(cluster.dir, victim.name, dir), { recursive: true, force: true });
  }
  const launched = now();
  await victim.restart();
  const servingMs = now() - launched;
  const health = new HealthClient(victim.publicAddress);
  let readyMs = Number.NaN;
  let caughtUpMs = Number.NaN;
  try {
    await Promise.all([
      waitFor(async () => (await health.check('oxia-readiness')) === ServingStatus.SERVING, `${victim.name} ready`, CATCH_UP_TIMEOUT_MS, 20).then(
        () => (readyMs = now() - launched),
      ),
      waitFor(() => caughtUp(cluster, victim), `${victim.name} caught up`, CATCH_UP_TIMEOUT_MS, 100).then(() => (caughtUpMs = now() - launched)),
    ]);
  } finally {
    health.close();
  }
  const writeGapMs = Math.max(...(await writes));
  const snapshotsAfter = await snapshotsSent(cluster, victim);
  const row: RestartRow = {
    how,
    stopMs,
    writesWhileDown,
    servingMs,
    readyMs,
    caughtUpMs,
    writeGapMs,
    snapshotsSent: snapshotsAfter.count - snapshotsBefore.count,
    snapshotBytes: snapshotsAfter.bytes - snapshotsBefore.bytes,
  };
  log(`  stopped in ${ms(stopMs)}, ${writesWhileDown} writes while down; serving after ${ms(servingMs)}, ready after ${ms(readyMs)}, caught up after ${ms(caughtUpMs)}; writes waited up to ${ms(writeGapMs)}; ${row.snapshotsSent} snapshots sent (${mib(row.snapshotBytes)} MiB)`);
  return row;
}

/** Whether every shard on `node` has applied up to what its leader (on any node) committed. */
async function caughtUp(cluster: TestCluster, node: ClusterNode): Promise<boolean> {
  const running = cluster.nodes.filter((n) => n.running);
  const scraped = await Promise.all(running.map(async (n) => ({ n, m: await scrapeMetrics(String(n.process.serving.metricsAddress)) })));
  const own = scraped.find((s) => s.n === node)?.m;
  if (own === undefined) return false;
  const shards = new Set(scraped.flatMap(({ m }) => m.all('oxia_server_shard_role', { oxia_namespace: NAMESPACE }).map((s) => s.labels.shard!)));
  for (const shard of shards) {
    const leader = scraped.find(({ m }) => m.value('oxia_server_shard_role', { oxia_namespace: NAMESPACE, shard, role: 'leader' }) === 1);
    if (leader === undefined) return false;
    const committed = leader.m.value('oxia_server_commit_offset', { oxia_namespace: NAMESPACE, shard });
    const applied = own.value('oxia_server_commit_offset', { oxia_namespace: NAMESPACE, shard });
    if (committed === undefined || applied === undefined || applied < committed) return false;
  }
  return shards.size > 0;
}

/** Snapshots the nodes other than `victim` sent completely so far, and their bytes. */
async function snapshotsSent(cluster: TestCluster, victim: ClusterNode): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (const n of cluster.nodes) {
    if (n === victim || !n.running) continue;
    const m = await scrapeMetrics(String(n.process.serving.metricsAddress));
    count += m.sum('oxia_server_snapshots_total', { direction: 'sent', outcome: 'completed' });
    bytes += m.sum('oxia_server_snapshot_bytes_total', { direction: 'sent' });
  }
  return { count, bytes };
}

const mib = (bytes: number): string => (bytes / MiB).toFixed(0);
const ms = (v: number): string => (Number.isNaN(v) ? '-' : v < 10_000 ? `${v.toFixed(0)} ms` : `${(v / 1000).toFixed(1)} s`);

function table(header: readonly string[], rows: readonly (readonly string[])[], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const render = (cells: readonly string[]): string => cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return `${render(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(render).join('\n')}\n`;
}

function formatReport(r: {
  keys: number;
  valueSizeBytes: number;
  nodes: number;
  shards: number;
  kv: string;
  dbCacheSizeMb: number | null;
  compiledClient: boolean;
  loadAverage: { start: readonly number[]; end: readonly number[] };
  loading: { seconds: number; keysPerSec: number; failed: number } | undefined;
  scans: readonly ScanRow[];
  loads: ReadonlyArray<{ what: string; summary: PerfSummary }>;
  restarts: readonly RestartRow[];
  memory: readonly MemoryRow[];
}): string {
  let out = `\n${r.keys} keys of ${r.valueSizeBytes} B; ${r.nodes} nodes, ${r.shards} shards, --kv ${r.kv}${r.dbCacheSizeMb === null ? '' : `, --db-cache-size-mb ${r.dbCacheSizeMb}`}; client ${r.compiledClient ? 'compiled' : 'from sources (tsx)'}\n`;
  out += `load average at start ${r.loadAverage.start.join(' ')}, at end ${r.loadAverage.end.join(' ')}\n\n`;
  if (r.loading) out += `loading: ${r.loading.seconds.toFixed(1)} s, ${r.loading.keysPerSec.toFixed(0)} keys/s, ${r.loading.failed} failed\n\n`;
  out += table(['scan', 'keys', 'seconds', 'keys/s'], r.scans.map((s) => [s.what, String(s.keys), s.seconds.toFixed(2), s.keysPerSec.toFixed(0)]));
  out += '\n';
  out += table(
    ['load', 'ops/s', 'p50 ms', 'p99 ms', 'failed'],
    r.loads.map(({ what, summary: s }) => {
      const f = what === 'put' ? s.write : s.read;
      return [what, s.opsPerSec.toFixed(0), f.latencyMs.p50.toFixed(1), f.latencyMs.p99.toFixed(1), String(s.failed)];
    }),
  );
  out += '\n';
  out += table(
    ['restart', 'stop', 'writes missed', 'serving', 'ready', 'caught up', 'write gap', 'snapshots', 'MiB sent'],
    r.restarts.map((x) => [x.how, ms(x.stopMs), String(x.writesWhileDown), ms(x.servingMs), ms(x.readyMs), ms(x.caughtUpMs), ms(x.writeGapMs), String(x.snapshotsSent), mib(x.snapshotBytes)]),
  );
  out += '"writes missed": puts the other nodes took while the node was down; "serving", "ready", "caught up": from the launch;\n';
  out += '"stop" and "write gap" (the longest wait of a write to each shard issued at the signal): from the signal.\n\n';
  const names = [...new Set(r.memory.flatMap((m) => m.nodes.map((n) => n.node)))];
  out += table(
    ['memory (MiB): rss / peak / heap / cache', ...names, 'load avg'],
    r.memory.map((m) => [
      m.phase,
      ...names.map((name) => {
        const n = m.nodes.find((x) => x.node === name);
        const opt = (v: number | undefined): string => (v === undefined ? '-' : mib(v));
        return n ? `${mib(n.rssBytes)} / ${mib(n.peakBytes)} / ${opt(n.heapUsedBytes)} / ${opt(n.readCacheBytes)}` : '-';
      }),
      m.loadAverage.join(' '),
    ]),
  );
  out += 'rss: VmRSS at the end of the phase; peak: VmHWM during it (reset at its start); heap: V8 heap used and cache: what the read cache\n';
  out += 'holds (--db-cache-size-mb bounds it), from the node\'s metrics.\n';
  return out;
}
