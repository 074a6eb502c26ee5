/**
 * What a running role changes when its `--config` file is re-read (daemon.ts decides
 * which options changed and which of them may change live): the log level for every
 * role; for the storage roles also request limits, retention times and the read cache's
 * size. Options not listed here need a restart, and daemon.ts says so in the log.
 */
import type { Container } from 'inversify';
import { KvReadCache } from '../../adapters/kv-cache/read-cache.js';
import { PinoLogger } from '../../adapters/logging/pino-logger.js';
import type { LogLevel } from '../../adapters/logging/pino-logger.js';
import { LiveStorageSettings } from '../config/live-storage-settings.js';
import type { StorageSettings } from '../config/storage-options.js';

export const LIVE_LOGGING_OPTIONS: ReadonlySet<string> = new Set(['log-level']);

export const LIVE_STORAGE_OPTIONS: ReadonlySet<string> = new Set([
  'log-level',
  'key-size-bytes-max',
  'value-size-bytes-max',
  'items-per-request-max',
  'notifications-retention-time',
  'wal-retention-time',
  'db-cache-size-mb',
]);

export function reconfigureLogging(container: Container, next: { readonly logLevel: LogLevel }): void {
  container.get(PinoLogger).setLevel(next.logLevel);
}

export function reconfigureStorage(container: Container, next: StorageSettings): void {
  reconfigureLogging(container, next);
  container.get(LiveStorageSettings).update(next);
  const logger = container.get(PinoLogger);
  const cache = container.isBound(KvReadCache) ? container.get(KvReadCache) : undefined;
  if (cache && next.dbCacheSizeBytes > 0) cache.resize(next.dbCacheSizeBytes);
  else if ((cache === undefined) !== (next.dbCacheSizeBytes === 0)) {
    // Adding or removing the cache layer changes how stores are opened.
    logger.warn('turning the read cache on or off needs a restart; the change waits for one', { dbCacheSizeBytes: next.dbCacheSizeBytes });
  }
}
