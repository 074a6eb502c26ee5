/**
 * Settings of `oxia-ts standalone`: one table of options (flag, default, help) that
 * both the CLI and config files use, one zod schema that validates and converts the
 * raw values, and errors that name the offending flag.
 *
 * Flags and defaults follow `oxia standalone` where Oxia has the same setting.
 */
import { z } from 'zod';
import { DEFAULT_REQUEST_LIMITS } from '../../domain/database/limits.js';
import type { RequestLimits } from '../../domain/database/limits.js';
import type { KeySorting } from '../../domain/sharding/namespace.js';
import { LOG_LEVELS } from '../../adapters/logging/pino-logger.js';
import type { LogLevel } from '../../adapters/logging/pino-logger.js';
import { boolean, duration, hostPort, integer, nonEmptyText, oneOf } from './values.js';
import type { HostPort } from './values.js';

export const KV_BACKENDS = ['sqlite', 'level'] as const;
export type KvBackend = (typeof KV_BACKENDS)[number];
export const KEY_SORTINGS = ['hierarchical', 'natural'] as const satisfies readonly KeySorting[];

/** A bound on shards per node; each shard holds open files and a controller. */
export const SHARDS_MAX = 1024;
const MiB = 1024 * 1024;

/** The validated settings. */
export interface StandaloneConfig {
  readonly shards: number;
  readonly publicAddr: HostPort;
  /** What clients are told to connect to (the leader in assignments); derived from the bound address when absent. */
  readonly advertisedAddr: string | undefined;
  readonly metricsAddr: HostPort;
  readonly dataDir: string;
  readonly walDir: string;
  readonly kv: KvBackend;
  /** The node's cache of records read from the key-value stores (0: none). */
  readonly dbCacheSizeBytes: number;
  readonly keySorting: KeySorting;
  readonly notificationsEnabled: boolean;
  readonly notificationsRetentionMs: number;
  readonly walSyncData: boolean;
  readonly walRetentionMs: number;
  readonly walSegmentSizeBytes: number;
  readonly retentionCheckIntervalMs: number;
  readonly limits: RequestLimits;
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
}

/** One row per setting: what the CLI declares and what a config file may contain. */
export interface OptionSpec {
  /** The config-file key and, with "--", the flag. */
  readonly name: string;
  readonly short?: string;
  /** Placeholder in help; absent for booleans, which also get a --no- form. */
  readonly valueName?: string;
  readonly help: string;
  /** Default as the user would type it; undefined when there is none. */
  readonly default: string | undefined;
}

export const STANDALONE_OPTIONS = [
  { name: 'shards', short: 's', valueName: 'count', help: `number of shards of the "default" namespace (1 to ${SHARDS_MAX})`, default: '1' },
  { name: 'public-addr', short: 'p', valueName: 'host:port', help: 'public gRPC address to listen on (port 0: any free port)', default: '127.0.0.1:6648' },
  { name: 'advertised-addr', valueName: 'host:port', help: 'address given to clients as shard leader (default: the bound public address)', default: undefined },
  { name: 'metrics-addr', short: 'm', valueName: 'host:port', help: 'address of the Prometheus /metrics endpoint (port 0: any free port)', default: '127.0.0.1:8080' },
  { name: 'data-dir', valueName: 'dir', help: 'directory of the key-value stores', default: './data/db' },
  { name: 'wal-dir', valueName: 'dir', help: 'directory of the write-ahead logs', default: './data/wal' },
  { name: 'kv', valueName: 'backend', help: `key-value store backend: ${KV_BACKENDS.join(' | ')}`, default: 'sqlite' },
  { name: 'db-cache-size-mb', valueName: 'MiB', help: "cache of records read from the key-value stores, shared by the node's shards (0: none)", default: '100' },
  { name: 'key-sorting', valueName: 'order', help: `key order of the namespace: ${KEY_SORTINGS.join(' | ')}`, default: 'hierarchical' },
  { name: 'notifications-enabled', help: 'record change notifications for clients', default: 'true' },
  { name: 'notifications-retention-time', valueName: 'duration', help: 'how long notifications are kept', default: '1h' },
  { name: 'wal-sync-data', help: 'fsync the write-ahead log before acknowledging writes', default: 'true' },
  { name: 'wal-retention-time', valueName: 'duration', help: 'how long applied write-ahead log entries are kept', default: '1h' },
  { name: 'wal-segment-size-bytes', valueName: 'bytes', help: 'size at which a write-ahead log segment file is rolled', default: String(64 * MiB) },
  { name: 'retention-check-interval', valueName: 'duration', help: 'how often retention of logs and notifications runs', default: '1m' },
  { name: 'key-size-bytes-max', valueName: 'bytes', help: 'largest key, partition key or secondary key', default: String(DEFAULT_REQUEST_LIMITS.keySizeBytesMax) },
  { name: 'value-size-bytes-max', valueName: 'bytes', help: 'largest value', default: String(DEFAULT_REQUEST_LIMITS.valueSizeBytesMax) },
  { name: 'items-per-request-max', valueName: 'count', help: 'most puts, deletes and range deletes in one write (or gets in one read)', default: String(DEFAULT_REQUEST_LIMITS.itemsPerRequestMax) },
  { name: 'request-size-bytes-max', valueName: 'bytes', help: 'largest request message (the gRPC receive limit)', default: String(DEFAULT_REQUEST_LIMITS.requestSizeBytesMax) },
  { name: 'log-level', short: 'l', valueName: 'level', help: `log level: ${LOG_LEVELS.join(' | ')}`, default: 'info' },
  { name: 'shutdown-timeout', valueName: 'duration', help: 'how long a graceful shutdown may take before calls are cut off', default: '10s' },
] as const satisfies readonly OptionSpec[];

export type StandaloneOptionName = (typeof STANDALONE_OPTIONS)[number]['name'];
/** Raw values by option name, as the CLI or a config file gives them. */
export type RawOptions = Partial<Record<StandaloneOptionName, unknown>>;

const GiB = 1024 * MiB;

const schema = z
  .strictObject({
    shards: integer(1, SHARDS_MAX),
    'public-addr': hostPort,
    'advertised-addr': nonEmptyText.optional(),
    'metrics-addr': hostPort,
    'data-dir': nonEmptyText,
    'wal-dir': nonEmptyText,
    kv: oneOf(KV_BACKENDS),
    'db-cache-size-mb': integer(0, 1024 * 1024),
    'key-sorting': oneOf(KEY_SORTINGS),
    'notifications-enabled': boolean,
    'notifications-retention-time': duration(1000),
    'wal-sync-data': boolean,
    'wal-retention-time': duration(1000),
    'wal-segment-size-bytes': integer(4096, GiB),
    'retention-check-interval': duration(100),
    'key-size-bytes-max': integer(1, 16 * MiB),
    'value-size-bytes-max': integer(0, GiB),
    'items-per-request-max': integer(1, 1_000_000),
    'request-size-bytes-max': integer(1024, 2 * GiB - 1),
    'log-level': oneOf(LOG_LEVELS),
    'shutdown-timeout': duration(0),
  })
  .superRefine(checkLimitsFitRequest);

/** Invalid settings: every problem, each naming its flag. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/**
 * One line per zod issue, each naming its flag; `explain` may word an issue better for a role
 * (return undefined to keep the default wording).
 */
export function configErrorFrom(issues: readonly z.core.$ZodIssue[], explain?: (name: PropertyKey | undefined) => string | undefined): ConfigError {
  return new ConfigError(
    issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown setting(s): ${issue.keys.join(', ')}`;
      const name = issue.path[0];
      const explained = explain?.(name);
      if (explained !== undefined) return explained;
      return name === undefined ? issue.message : `--${String(name)}: ${issue.message}`;
    }),
  );
}

/** A per-item limit that can never be reached inside a request is a misconfiguration. */
export function checkLimitsFitRequest(
  o: { readonly 'key-size-bytes-max': number; readonly 'value-size-bytes-max': number; readonly 'request-size-bytes-max': number },
  ctx: z.RefinementCtx,
): void {
  for (const name of ['key-size-bytes-max', 'value-size-bytes-max'] as const) {
    if (o[name] > o['request-size-bytes-max']) {
      ctx.addIssue({ code: 'custom', path: [name], message: `must not exceed --request-size-bytes-max (${o['request-size-bytes-max']})` });
    }
  }
}

const DEFAULTS: RawOptions = Object.fromEntries(
  STANDALONE_OPTIONS.filter((o) => o.default !== undefined).map((o) => [o.name, o.default]),
);

/** Validates raw values (defaults fill what is missing) into a StandaloneConfig, or throws ConfigError. */
export function parseStandaloneConfig(raw: RawOptions): StandaloneConfig {
  const result = schema.safeParse({ ...DEFAULTS, ...raw });
  if (!result.success) {
    throw configErrorFrom(result.error.issues);
  }
  const o = result.data;
  return {
    shards: o.shards,
    publicAddr: o['public-addr'],
    advertisedAddr: o['advertised-addr'],
    metricsAddr: o['metrics-addr'],
    dataDir: o['data-dir'],
    walDir: o['wal-dir'],
    kv: o.kv,
    dbCacheSizeBytes: o['db-cache-size-mb'] * MiB,
    keySorting: o['key-sorting'],
    notificationsEnabled: o['notifications-enabled'],
    notificationsRetentionMs: o['notifications-retention-time'],
    walSyncData: o['wal-sync-data'],
    walRetentionMs: o['wal-retention-time'],
    walSegmentSizeBytes: o['wal-segment-size-bytes'],
    retentionCheckIntervalMs: o['retention-check-interval'],
    limits: {
      keySizeBytesMax: o['key-size-bytes-max'],
      valueSizeBytesMax: o['value-size-bytes-max'],
      itemsPerRequestMax: o['items-per-request-max'],
      requestSizeBytesMax: o['request-size-bytes-max'],
    },
    logLevel: o['log-level'],
    shutdownTimeoutMs: o['shutdown-timeout'],
  };
}
