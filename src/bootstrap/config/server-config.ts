/**
 * Settings of `oxia-ts server` (a storage node of a replicated cluster): one table of
 * options that the CLI and config files share, one zod schema, errors naming the flag.
 * Flags and defaults follow `oxia server` where Oxia has the same setting (bind
 * addresses default to loopback here: listening on every interface is a choice).
 */
import { z } from 'zod';
import { DEFAULT_REQUEST_LIMITS } from '../../domain/database/limits.js';
import type { RequestLimits } from '../../domain/database/limits.js';
import { LOG_LEVELS } from '../../adapters/logging/pino-logger.js';
import type { LogLevel } from '../../adapters/logging/pino-logger.js';
import { checkLimitsFitRequest, configErrorFrom, KV_BACKENDS } from './standalone-config.js';
import type { KvBackend, OptionSpec } from './standalone-config.js';
import { boolean, duration, hostPort, integer, nonEmptyText, oneOf } from './values.js';
import type { HostPort } from './values.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface ServerConfig {
  /** The client API (OxiaClient). */
  readonly publicAddr: HostPort;
  /** Coordination and replication (OxiaCoordination, OxiaLogReplication). */
  readonly internalAddr: HostPort;
  readonly metricsAddr: HostPort;
  readonly dataDir: string;
  readonly walDir: string;
  readonly kv: KvBackend;
  /** The node's cache of records read from the key-value stores (0: none). */
  readonly dbCacheSizeBytes: number;
  readonly notificationsRetentionMs: number;
  readonly walSyncData: boolean;
  readonly walRetentionMs: number;
  readonly walSegmentSizeBytes: number;
  readonly retentionCheckIntervalMs: number;
  readonly limits: RequestLimits;
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
}

export const SERVER_OPTIONS = [
  { name: 'public-addr', short: 'p', valueName: 'host:port', help: 'public gRPC address (client API) to listen on (port 0: any free port)', default: '127.0.0.1:6648' },
  { name: 'internal-addr', short: 'i', valueName: 'host:port', help: 'internal gRPC address (coordination and replication) to listen on (port 0: any free port)', default: '127.0.0.1:6649' },
  { name: 'metrics-addr', short: 'm', valueName: 'host:port', help: 'address of the Prometheus /metrics endpoint (port 0: any free port)', default: '127.0.0.1:8080' },
  { name: 'data-dir', valueName: 'dir', help: 'directory of the key-value stores', default: './data/db' },
  { name: 'wal-dir', valueName: 'dir', help: 'directory of the write-ahead logs', default: './data/wal' },
  { name: 'kv', valueName: 'backend', help: `key-value store backend: ${KV_BACKENDS.join(' | ')}`, default: 'sqlite' },
  { name: 'db-cache-size-mb', valueName: 'MiB', help: "cache of records read from the key-value stores, shared by the node's shards (0: none)", default: '100' },
  { name: 'notifications-retention-time', valueName: 'duration', help: 'how long notifications are kept', default: '1h' },
  { name: 'wal-sync-data', help: 'fsync the write-ahead log before acknowledging entries', default: 'true' },
  { name: 'wal-retention-time', valueName: 'duration', help: 'how long applied write-ahead log entries are kept (followers further behind get a snapshot)', default: '1h' },
  { name: 'wal-segment-size-bytes', valueName: 'bytes', help: 'size at which a write-ahead log segment file is rolled', default: String(64 * MiB) },
  { name: 'retention-check-interval', valueName: 'duration', help: 'how often retention of logs and notifications runs', default: '1m' },
  { name: 'key-size-bytes-max', valueName: 'bytes', help: 'largest key, partition key or secondary key', default: String(DEFAULT_REQUEST_LIMITS.keySizeBytesMax) },
  { name: 'value-size-bytes-max', valueName: 'bytes', help: 'largest value', default: String(DEFAULT_REQUEST_LIMITS.valueSizeBytesMax) },
  { name: 'items-per-request-max', valueName: 'count', help: 'most puts, deletes and range deletes in one write (or gets in one read)', default: String(DEFAULT_REQUEST_LIMITS.itemsPerRequestMax) },
  { name: 'request-size-bytes-max', valueName: 'bytes', help: 'largest request message (the gRPC receive limit, public and internal)', default: String(DEFAULT_REQUEST_LIMITS.requestSizeBytesMax) },
  { name: 'log-level', short: 'l', valueName: 'level', help: `log level: ${LOG_LEVELS.join(' | ')}`, default: 'info' },
  { name: 'shutdown-timeout', valueName: 'duration', help: 'how long a graceful shutdown may take before calls are cut off', default: '10s' },
] as const satisfies readonly OptionSpec[];

export type ServerOptionName = (typeof SERVER_OPTIONS)[number]['name'];
export type ServerRawOptions = Partial<Record<ServerOptionName, unknown>>;

const schema = z
  .strictObject({
    'public-addr': hostPort,
    'internal-addr': hostPort,
    'metrics-addr': hostPort,
    'data-dir': nonEmptyText,
    'wal-dir': nonEmptyText,
    kv: oneOf(KV_BACKENDS),
    'db-cache-size-mb': integer(0, 1024 * 1024),
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

const DEFAULTS: ServerRawOptions = Object.fromEntries(SERVER_OPTIONS.filter((o) => o.default !== undefined).map((o) => [o.name, o.default]));

/** Validates raw values (defaults fill what is missing) into a ServerConfig, or throws ConfigError. */
export function parseServerConfig(raw: ServerRawOptions): ServerConfig {
  const result = schema.safeParse({ ...DEFAULTS, ...raw });
  if (!result.success) {
    throw configErrorFrom(result.error.issues);
  }
  const o = result.data;
  return {
    publicAddr: o['public-addr'],
    internalAddr: o['internal-addr'],
    metricsAddr: o['metrics-addr'],
    dataDir: o['data-dir'],
    walDir: o['wal-dir'],
    kv: o.kv,
    dbCacheSizeBytes: o['db-cache-size-mb'] * MiB,
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
