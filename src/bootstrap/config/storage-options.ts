/**
 * The settings of a node that stores shards, the same for `oxia-ts standalone` and
 * `oxia-ts server`: where the key-value stores and write-ahead logs live, the backend and
 * its read cache, retention, request limits, logging and shutdown. One row, one schema
 * entry and one mapping each, so the two roles cannot drift apart. Flags and defaults
 * follow Oxia's where it has the same setting.
 */
import { z } from 'zod';
import { DEFAULT_REQUEST_LIMITS } from '../../domain/database/limits.js';
import type { RequestLimits } from '../../domain/database/limits.js';
import { LOG_LEVELS } from '../../adapters/logging/pino-logger.js';
import type { LogLevel } from '../../adapters/logging/pino-logger.js';
import type { OptionSpec } from './option-table.js';
import { boolean, duration, integer, nonEmptyText, oneOf } from './values.js';

export const KV_BACKENDS = ['sqlite', 'level'] as const;
export type KvBackend = (typeof KV_BACKENDS)[number];

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The validated storage settings, part of each storage role's config. */
export interface StorageSettings {
  readonly dataDir: string;
  readonly walDir: string;
  readonly kv: KvBackend;
  /** The node's cache of records read from the key-value stores (0: none). */
  readonly dbCacheSizeBytes: number;
  /** The longest applied writes wait in memory before their store transaction (0: one per applied batch). */
  readonly kvCommitIntervalMs: number;
  readonly notificationsRetentionMs: number;
  readonly walSyncData: boolean;
  /** Writes are refused while free space under the data or WAL directory is below this (0: only a full disk refuses them). */
  readonly minFreeDiskBytes: number;
  readonly walRetentionMs: number;
  readonly walSegmentSizeBytes: number;
  readonly retentionCheckIntervalMs: number;
  readonly limits: RequestLimits;
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
}

/**
 * One help text each for both roles: where the roles' wordings differed, the one that says more
 * (a standalone node simply has no followers to send snapshots to).
 */
export const STORAGE_OPTIONS = [
  { name: 'data-dir', valueName: 'dir', help: 'directory of the key-value stores', default: './data/db' },
  { name: 'wal-dir', valueName: 'dir', help: 'directory of the write-ahead logs', default: './data/wal' },
  { name: 'kv', valueName: 'backend', help: `key-value store backend: ${KV_BACKENDS.join(' | ')}`, default: 'sqlite' },
  { name: 'db-cache-size-mb', valueName: 'MiB', help: "cache of records read from the key-value stores, shared by the node's shards (0: none)", default: '100' },
  {
    name: 'kv-commit-interval',
    valueName: 'duration',
    help: 'how long applied writes may wait in memory before they are committed to the key-value store, several batches in one transaction; the write-ahead log holds them meanwhile (0: a transaction per applied batch)',
    default: '100ms',
  },
  { name: 'notifications-retention-time', valueName: 'duration', help: 'how long notifications are kept', default: '1h' },
  { name: 'wal-sync-data', help: 'fsync the write-ahead log before acknowledging entries', default: 'true' },
  {
    name: 'min-free-disk-bytes',
    valueName: 'bytes',
    help: 'refuse writes (RESOURCE_EXHAUSTED, DISK_FULL) while free space under the data or WAL directory is below this, so that reopening the shards has room (0: only a full disk)',
    default: String(64 * MiB),
  },
  { name: 'wal-retention-time', valueName: 'duration', help: 'how long applied write-ahead log entries are kept (followers further behind get a snapshot)', default: '1h' },
  { name: 'wal-segment-size-bytes', valueName: 'bytes', help: 'size at which a write-ahead log segment file is rolled', default: String(64 * MiB) },
  { name: 'retention-check-interval', valueName: 'duration', help: 'how often retention of logs and notifications runs', default: '1m' },
  { name: 'key-size-bytes-max', valueName: 'bytes', help: 'largest key, partition key or secondary key', default: String(DEFAULT_REQUEST_LIMITS.keySizeBytesMax) },
  { name: 'value-size-bytes-max', valueName: 'bytes', help: 'largest value', default: String(DEFAULT_REQUEST_LIMITS.valueSizeBytesMax) },
  { name: 'items-per-request-max', valueName: 'count', help: 'most puts, deletes and range deletes in one write (or gets in one read)', default: String(DEFAULT_REQUEST_LIMITS.itemsPerRequestMax) },
  { name: 'request-size-bytes-max', valueName: 'bytes', help: 'largest request message (the receive limit of every gRPC listener)', default: String(DEFAULT_REQUEST_LIMITS.requestSizeBytesMax) },
  { name: 'log-level', short: 'l', valueName: 'level', help: `log level: ${LOG_LEVELS.join(' | ')}`, default: 'info' },
  { name: 'shutdown-timeout', valueName: 'duration', help: 'how long a graceful shutdown may take before calls are cut off', default: '10s' },
] as const satisfies readonly OptionSpec[];

/** The schema entries of STORAGE_OPTIONS. */
const STORAGE_SHAPE = {
  'data-dir': nonEmptyText,
  'wal-dir': nonEmptyText,
  kv: oneOf(KV_BACKENDS),
  'db-cache-size-mb': integer(0, 1024 * 1024),
  'kv-commit-interval': duration(0),
  'notifications-retention-time': duration(1000),
  'wal-sync-data': boolean,
  'min-free-disk-bytes': integer(0, Number.MAX_SAFE_INTEGER),
  'wal-retention-time': duration(1000),
  'wal-segment-size-bytes': integer(4096, GiB),
  'retention-check-interval': duration(100),
  'key-size-bytes-max': integer(1, 16 * MiB),
  'value-size-bytes-max': integer(0, GiB),
  'items-per-request-max': integer(1, 1_000_000),
  'request-size-bytes-max': integer(1024, 2 * GiB - 1),
  'log-level': oneOf(LOG_LEVELS),
  'shutdown-timeout': duration(0),
} satisfies Record<(typeof STORAGE_OPTIONS)[number]['name'], z.ZodType<unknown, unknown>>;

/** The values STORAGE_SHAPE validates, by option name. */
export type StorageValues = { readonly [K in keyof typeof STORAGE_SHAPE]: z.output<(typeof STORAGE_SHAPE)[K]> };

/** A per-item limit that can never be reached inside a request is a misconfiguration. */
function checkLimitsFitRequest(
  o: { readonly 'key-size-bytes-max': number; readonly 'value-size-bytes-max': number; readonly 'request-size-bytes-max': number },
  ctx: z.RefinementCtx,
): void {
  for (const name of ['key-size-bytes-max', 'value-size-bytes-max'] as const) {
    if (o[name] > o['request-size-bytes-max']) {
      ctx.addIssue({ code: 'custom', path: [name], message: `must not exceed --request-size-bytes-max (${o['request-size-bytes-max']})` });
    }
  }
}

/** A storage role's schema: its own entries (`roleShape`, which may not redefine a storage one) and the storage ones. */
export function storageRoleSchema<const S extends Record<string, z.ZodType<unknown, unknown>>>(roleShape: S & { readonly [K in keyof StorageValues]?: never }) {
  // The storage entries come last, so whatever the role's entries, the output holds StorageValues.
  return z.strictObject({ ...roleShape, ...STORAGE_SHAPE }).superRefine((o, ctx) => checkLimitsFitRequest(o as StorageValues, ctx));
}

export function storageSettingsOf(o: StorageValues): StorageSettings {
  return {
    dataDir: o['data-dir'],
    walDir: o['wal-dir'],
    kv: o.kv,
    dbCacheSizeBytes: o['db-cache-size-mb'] * MiB,
    kvCommitIntervalMs: o['kv-commit-interval'],
    notificationsRetentionMs: o['notifications-retention-time'],
    walSyncData: o['wal-sync-data'],
    minFreeDiskBytes: o['min-free-disk-bytes'],
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
