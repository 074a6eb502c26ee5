/**
 * What a failed write of the log or a store says about the disk, as the typed error the
 * core acts on (ADR 0029): DiskFull when no space is left, StorageFailed for any other I/O
 * error. The file adapters (WAL segments, SQLite, LevelDB) each report failures in their own
 * form: a Node errno code, an SQLite result code, a LevelDB status message.
 */
import { OxiaError, isOxiaError } from '../../domain/errors/oxia-error.js';

const DISK_FULL_ERRNO = new Set(['ENOSPC', 'EDQUOT']);
const IO_ERRNO = new Set(['EIO', 'EROFS', 'ENOSPC', 'EDQUOT', 'EFBIG', 'ENXIO', 'ENODEV', 'ESTALE', 'EBADF']);

interface ErrorLike {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
}

/**
 * The storage failure `e` is, described as a failure of `what` ("WAL /data/wal/default/0
 * append"); undefined when `e` is no I/O failure (a bug, a closed file, a bad argument).
 */
export function storageFailureOf(e: unknown, what: string): OxiaError | undefined {
  if (isOxiaError(e, 'DiskFull') || isOxiaError(e, 'StorageFailed')) return e;
  for (let cur: unknown = e, depth = 0; cur !== undefined && cur !== null && depth < 4; depth++) {
    const err = cur as ErrorLike;
    const code = typeof err.code === 'string' ? err.code : '';
    const message = typeof err.message === 'string' ? err.message : String(cur);
    if (DISK_FULL_ERRNO.has(code) || code === 'SQLITE_FULL' || /no space left on device/i.test(message)) {
      return new OxiaError('DiskFull', `${what} failed: disk full (${message})`);
    }
    if (IO_ERRNO.has(code) || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_READONLY' || /^IO error/i.test(message) || code === 'LEVEL_IO_ERROR') {
      return new OxiaError('StorageFailed', `${what} failed: I/O error (${message})`);
    }
    cur = err.cause;
  }
  return undefined;
}

/** `e` as a storage failure of `what` when it is one, else unchanged. */
export function asStorageFailure(e: unknown, what: string): unknown {
  return storageFailureOf(e, what) ?? e;
}
