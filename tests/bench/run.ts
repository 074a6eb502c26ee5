// `npm run bench`: benchmarks against a server started for the run (temp dir, removed
// afterwards). Absolute figures depend on the machine; each bench says what to compare.
//
// Default: what client batching buys (batching.ts). `oxia-ts perf` (a child process per run,
// as a user would) at maximum rate (rate 0, closed loop with --max-in-flight outstanding
// operations) for each read/write mix twice: with the client's default batching (linger 5 ms,
// up to 1000 requests per batch) and as a baseline with one request per operation (linger 0,
// 1 request per batch), after a warm-up; a table with the ratios against the baseline. Flags:
//   --shards N (1)  --kv sqlite|level (sqlite)  --duration 8s (per run)  --warmup 2s
//   --batching on|off|both (both)  --read-write-percent 80,0 (one pair of runs per mix)
//   --max-in-flight 1000  --value-size 128  --keys-cardinality 1000  --json
//   --cluster N (0)  instead of a standalone server, a local cluster of N storage nodes and a
//                    coordinator (replication factor min(3, N), --shards shards); clients connect
//                    to the first node and follow the shard assignments to each leader
//
// --failover-watch: false failovers under load (failover-watch.ts): a 3-node cluster with the
// coordinator's default health checks under `oxia-ts perf` at maximum rate, --runs times (a fresh
// cluster each); elections, nodes declared down, health-check and event-loop delays, read-lease
// lapses. Flags: --runs 3  --duration 5m  --max-in-flight 256  --read-write-percent 80
//   --health-check-timeout <duration> (the coordinator's default unless given)
//
// --scale: how cost grows with the data (scale.ts): a local cluster loaded with --keys records,
// then scans, closed-loop put and get loads, node restarts, a wiped node's catch-up, and every
// node's memory through it all. Flags:
//   --keys 1000000  --cluster 3  --shards 3  --kv sqlite  --value-size 128
//   --max-in-flight 256 (callers of the put and get loads)  --duration 20s (each load)
//   --down-time 10s (a stopped node stays down this long, under a put load)
//   --db-cache-size-mb N (the servers' default unless given)  --json
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../../src/bootstrap/config/values.js';
import { runBatchingBench } from './batching.js';
import { runFailoverWatch } from './failover-watch.js';
import { runScaleBench } from './scale.js';

const { values: flags } = parseArgs({
  options: {
    scale: { type: 'boolean', default: false },
    'failover-watch': { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    'health-check-timeout': { type: 'string' },
    keys: { type: 'string', default: '1000000' },
    'down-time': { type: 'string', default: '10s' },
    'db-cache-size-mb': { type: 'string' },
    shards: { type: 'string' },
    cluster: { type: 'string' },
    kv: { type: 'string', default: 'sqlite' },
    duration: { type: 'string' },
    warmup: { type: 'string', default: '2s' },
    batching: { type: 'string', default: 'both' },
    'read-write-percent': { type: 'string', default: '80,0' },
    'max-in-flight': { type: 'string' },
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

const scale = flags.scale;
const shards = integer('shards', flags.shards ?? (scale ? '3' : '1'), 1);
const kv = flags.kv === 'sqlite' || flags.kv === 'level' ? flags.kv : usage(`--kv must be sqlite or level, got "${flags.kv}"`);
const durationMs = duration('duration', flags.duration ?? (scale ? '20s' : '8s'));
const maxInFlight = integer('max-in-flight', flags['max-in-flight'] ?? (scale ? '256' : '1000'), 1);
const valueSizeBytes = integer('value-size', flags['value-size'], 0);

if (flags['failover-watch']) {
  await runFailoverWatch({
    runs: integer('runs', flags.runs, 1),
    durationMs: duration('duration', flags.duration ?? '5m'),
    callers: integer('max-in-flight', flags['max-in-flight'] ?? '256', 1),
    // The first mix given (the default list starts with 80).
    readPercentage: integer('read-write-percent', flags['read-write-percent'].split(',')[0] ?? '80', 0),
    silenceLimit: flags['health-check-timeout'],
    json: flags.json,
  });
} else if (scale) {
  await runScaleBench({
    keys: integer('keys', flags.keys, 1),
    nodes: integer('cluster', flags.cluster ?? '3', 3),
    shards,
    kv,
    valueSizeBytes,
    callers: maxInFlight,
    loadDurationMs: durationMs,
    downTimeMs: duration('down-time', flags['down-time']),
    dbCacheSizeMb: flags['db-cache-size-mb'] === undefined ? undefined : integer('db-cache-size-mb', flags['db-cache-size-mb'], 0),
    json: flags.json,
  });
} else {
  const batching = flags.batching === 'on' || flags.batching === 'off' || flags.batching === 'both' ? flags.batching : usage(`--batching must be on, off or both, got "${flags.batching}"`);
  const mixes = flags['read-write-percent'].split(',').map((p) => {
    const v = Number(p);
    if (p.trim() === '' || !(v >= 0 && v <= 100)) usage(`--read-write-percent takes percentages from 0 to 100, got "${p}"`);
    return v;
  });
  await runBatchingBench({
    shards,
    clusterNodes: integer('cluster', flags.cluster ?? '0', 0),
    kv,
    durationMs,
    warmupMs: duration('warmup', flags.warmup),
    batching,
    mixes,
    maxInFlight,
    valueSizeBytes,
    keysCardinality: integer('keys-cardinality', flags['keys-cardinality'], 1),
    json: flags.json,
  });
}
