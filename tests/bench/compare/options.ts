/**
 * The flags of `npm run bench -- --compare` and their defaults. Pure: the unit test and the
 * bench share it.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../../../src/bootstrap/config/option-table.js';
import { flagReaders } from './flag-readers.js';

/** The systems compared, in the order they run (each only for its own turn). */
export const SYSTEMS = ['etcd', 'zookeeper', 'oxia-ts'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export const OPERATIONS = ['put', 'get'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface CompareOptions {
  readonly systems: readonly SystemName[];
  readonly operations: readonly Operation[];
  /** Callers, each awaiting its operation in a loop; one measured point per value. */
  readonly concurrencies: readonly number[];
  /** Measured time per point. */
  readonly durationMs: number;
  /** Unmeasured load before each point, at the same concurrency. */
  readonly warmupMs: number;
  /**
   * Unmeasured load once a system has started, before its first point: each operation in
   * turn at the highest concurrency. A JIT-compiled server or client (Node's V8, a JVM) runs
   * much of its code unoptimized until it has run it often: measured on a fresh 3-node
   * oxia-ts, a 1-caller put cost each node 2.2 ms of CPU with 2 s of 1-caller warm-up and
   * 1.3 ms after 5 s at 256 callers. Servers in production are past that stage.
   */
  readonly startWarmupMs: number;
  /** Keys `key-0` .. `key-<n-1>`, all written before the first point. */
  readonly keys: number;
  readonly valueSizeBytes: number;
  /** Shards of the oxia-ts namespace (replication factor 3 on 3 nodes). */
  readonly oxiaShards: number;
  /**
   * Rounds over the systems, alternating (etcd, oxia-ts, etcd, oxia-ts, ...), so that each
   * system meets the same changes in machine load; the tables give each point's median.
   */
  readonly rounds: number;
  /** Results go to `<outDir>/<timestamp>/`. */
  readonly outDir: string;
}

export const COMPARE_DEFAULTS: CompareOptions = {
  systems: SYSTEMS,
  operations: OPERATIONS,
  concurrencies: [1, 16, 64, 256],
  durationMs: 8_000,
  warmupMs: 2_000,
  startWarmupMs: 10_000,
  keys: 1_000,
  valueSizeBytes: 128,
  oxiaShards: 3,
  rounds: 1,
  outDir: 'bench-results',
};

/** `--quick`: for trying the bench out, not for figures worth keeping. */
export const QUICK = { durationMs: 2_000, warmupMs: 500, startWarmupMs: 2_000 } as const;

export const COMPARE_USAGE = `npm run bench -- --compare [flags]
  --systems etcd,zookeeper,oxia-ts   which systems, in this order (default all three)
  --ops put,get                      operations measured (default both)
  --concurrency 1,16,64,256          callers per point (default 1,16,64,256)
  --duration 8s                      measured time per point (default 8s)
  --warmup 2s                        unmeasured load before each point (default 2s)
  --start-warmup 10s                 unmeasured load when a system has started, each operation at the
                                     highest concurrency, so that JIT-compiled code is optimized (default 10s)
  --quick                            --duration ${QUICK.durationMs / 1000}s --warmup ${QUICK.warmupMs}ms --start-warmup ${QUICK.startWarmupMs / 1000}s unless those are given
  --keys 1000                        key space, written before the first point (default 1000)
  --value-size 128                   bytes per value (default 128)
  --oxia-shards 3                    shards of the oxia-ts namespace (default 3)
  --rounds 1                         rounds over the systems, alternating; tables give medians (default 1)
  --out bench-results                results folder; each run writes <out>/<timestamp>/
  --help                             this text`;

/**
 * Parses the flags after `npm run bench --`; `--compare` itself is accepted and ignored.
 * Throws ConfigError listing every problem.
 */
export function parseCompareArgs(argv: readonly string[]): CompareOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    throw new ConfigError([e instanceof Error ? e.message : String(e)]);
  }
  const flags = parsed.values;
  const problems: string[] = [];
  const { listOf, integer, durationOf, concurrencies: callers } = flagReaders(problems);
  const quick = flags.quick === true;
  const concurrencies = callers(flags.concurrency, COMPARE_DEFAULTS.concurrencies);

  const options: CompareOptions = {
    systems: listOf('systems', flags.systems, SYSTEMS, COMPARE_DEFAULTS.systems),
    operations: listOf('ops', flags.ops, OPERATIONS, COMPARE_DEFAULTS.operations),
    concurrencies,
    durationMs: durationOf('duration', flags.duration, 100, quick ? QUICK.durationMs : COMPARE_DEFAULTS.durationMs),
    warmupMs: durationOf('warmup', flags.warmup, 0, quick ? QUICK.warmupMs : COMPARE_DEFAULTS.warmupMs),
    startWarmupMs: durationOf('start-warmup', flags['start-warmup'], 0, quick ? QUICK.startWarmupMs : COMPARE_DEFAULTS.startWarmupMs),
    keys: integer('keys', flags.keys, 1, COMPARE_DEFAULTS.keys),
    valueSizeBytes: integer('value-size', flags['value-size'], 1, COMPARE_DEFAULTS.valueSizeBytes),
    oxiaShards: integer('oxia-shards', flags['oxia-shards'], 1, COMPARE_DEFAULTS.oxiaShards),
    rounds: integer('rounds', flags.rounds, 1, COMPARE_DEFAULTS.rounds),
    outDir: flags.out ?? COMPARE_DEFAULTS.outDir,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return options;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      compare: { type: 'boolean' },
      systems: { type: 'string' },
      ops: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'start-warmup': { type: 'string' },
      quick: { type: 'boolean' },
      keys: { type: 'string' },
      'value-size': { type: 'string' },
      'oxia-shards': { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
    },
  });
}
