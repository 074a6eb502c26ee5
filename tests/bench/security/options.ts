/**
 * The flags of `npm run bench -- --security` and their defaults. Pure: the unit test and the
 * bench share it.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../../../src/bootstrap/config/option-table.js';
import { flagReaders } from '../compare/flag-readers.js';
import { OPERATIONS, QUICK, type Operation } from '../compare/options.js';

/**
 * What the server and the client do about security, cheapest first; the first is the baseline.
 * `tls-token-unchecked` (not run by default) sends the token to a server without a provider:
 * the client's side of authentication (it sends each write batch as a unary call when it has
 * credentials) without the server's verification, to tell the two costs apart.
 */
export const SETUPS = ['plaintext', 'tls', 'tls-token-unchecked', 'tls-oidc'] as const;
export type SetupName = (typeof SETUPS)[number];

export const SETUP_LABELS: Readonly<Record<SetupName, string>> = {
  plaintext: 'plaintext',
  tls: 'TLS',
  'tls-token-unchecked': 'TLS + token, not checked',
  'tls-oidc': 'TLS + OIDC token',
};

/** What runs without --setups. */
export const DEFAULT_SETUPS: readonly SetupName[] = ['plaintext', 'tls', 'tls-oidc'];

export interface SecurityOptions {
  readonly setups: readonly SetupName[];
  readonly operations: readonly Operation[];
  /** Callers, each awaiting its operation in a loop; one measured point per value. */
  readonly concurrencies: readonly number[];
  readonly durationMs: number;
  readonly warmupMs: number;
  /**
   * Each round runs every setup once, in order, each against a fresh server: more than one
   * round spreads slow drifts of the machine over all setups and shows how much a figure moves.
   */
  readonly rounds: number;
  readonly keys: number;
  readonly valueSizeBytes: number;
  /** `oxia-ts standalone --shards`. */
  readonly shards: number;
  /** Results go to `<outDir>/<timestamp>-security/`. */
  readonly outDir: string;
}

export const SECURITY_DEFAULTS: SecurityOptions = {
  setups: DEFAULT_SETUPS,
  operations: OPERATIONS,
  concurrencies: [1, 64],
  durationMs: 8_000,
  warmupMs: 2_000,
  rounds: 2,
  keys: 1_000,
  valueSizeBytes: 128,
  shards: 3,
  outDir: 'bench-results',
};

export const SECURITY_USAGE = `npm run bench -- --security [flags]
  --setups plaintext,tls,tls-oidc    what is measured, in this order (default these three; plaintext is the baseline);
                                     also tls-token-unchecked: the token sent to a server that does not check it
  --ops put,get                      operations measured (default both)
  --concurrency 1,64                 callers per point (default 1,64)
  --duration 8s                      measured time per point (default 8s)
  --warmup 2s                        unmeasured load before each point (default 2s)
  --rounds 2                         every setup once per round, each against a fresh server (default 2)
  --quick                            --duration ${QUICK.durationMs / 1000}s --warmup ${QUICK.warmupMs}ms --rounds 1 unless those are given
  --keys 1000                        key space, written before the first point (default 1000)
  --value-size 128                   bytes per value (default 128)
  --shards 3                         oxia-ts standalone --shards (default 3)
  --out bench-results                results folder; each run writes <out>/<timestamp>-security/
  --help                             this text`;

/** Parses the flags after `npm run bench --` (`--security` itself is accepted); throws ConfigError listing every problem. */
export function parseSecurityArgs(argv: readonly string[]): SecurityOptions {
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
  const concurrencies = callers(flags.concurrency, SECURITY_DEFAULTS.concurrencies);
  const options: SecurityOptions = {
    setups: listOf('setups', flags.setups, SETUPS, SECURITY_DEFAULTS.setups),
    operations: listOf('ops', flags.ops, OPERATIONS, SECURITY_DEFAULTS.operations),
    concurrencies,
    durationMs: durationOf('duration', flags.duration, 100, quick ? QUICK.durationMs : SECURITY_DEFAULTS.durationMs),
    warmupMs: durationOf('warmup', flags.warmup, 0, quick ? QUICK.warmupMs : SECURITY_DEFAULTS.warmupMs),
    rounds: integer('rounds', flags.rounds, 1, quick ? 1 : SECURITY_DEFAULTS.rounds),
    keys: integer('keys', flags.keys, 1, SECURITY_DEFAULTS.keys),
    valueSizeBytes: integer('value-size', flags['value-size'], 1, SECURITY_DEFAULTS.valueSizeBytes),
    shards: integer('shards', flags.shards, 1, SECURITY_DEFAULTS.shards),
    outDir: flags.out ?? SECURITY_DEFAULTS.outDir,
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
      security: { type: 'boolean' },
      setups: { type: 'string' },
      ops: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      quick: { type: 'boolean' },
      keys: { type: 'string' },
      'value-size': { type: 'string' },
      shards: { type: 'string' },
      out: { type: 'string' },
    },
  });
}
