import type { ServiceIdentifier } from 'inversify';

/** Settings of the file-backed write-ahead log (see ADR/0003-wal-format.md). */
export interface WalFileOptions {
  /** Root directory; each shard's log lives in `<dir>/<namespace>/<shard>/`. */
  readonly dir: string;
  /** A new segment file starts once the current one would grow past this (default 64 MiB). */
  readonly segmentSizeBytes?: number;
  /**
   * fdatasync before an append resolves (default true). Only tests and benchmarks that
   * do not care about power loss may turn it off: a process crash still loses nothing,
   * because written data sits in the kernel's page cache.
   */
  readonly syncData?: boolean;
  /**
   * Bound on bytes of appends accepted but not yet written. Beyond it append() rejects
   * with ResourceUnavailable instead of buffering without limit (default 256 MiB).
   */
  readonly queuedBytesMax?: number;
}
export const WalFileOptions: ServiceIdentifier<WalFileOptions> = Symbol.for('oxia.WalFileOptions');

export interface ResolvedWalFileOptions {
  readonly dir: string;
  readonly segmentSizeBytes: number;
  readonly syncData: boolean;
  readonly queuedBytesMax: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_SEGMENT_SIZE_BYTES = 64 * MiB;
export const DEFAULT_QUEUED_BYTES_MAX = 256 * MiB;
/**
 * Segment files index record positions with 32-bit numbers; keeping segments and single
 * appends at most 1 GiB each keeps every position below 2 GiB with room to spare.
 */
export const SEGMENT_SIZE_BYTES_MAX = 1024 * MiB;
/** The smallest segment that still holds its header and a record. */
export const SEGMENT_SIZE_BYTES_MIN = 4096;

export function resolveWalFileOptions(options: WalFileOptions): ResolvedWalFileOptions {
  const segmentSizeBytes = options.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES;
  const queuedBytesMax = options.queuedBytesMax ?? DEFAULT_QUEUED_BYTES_MAX;
  if (options.dir === '') throw new Error('WalFileOptions.dir must not be empty');
  if (!Number.isSafeInteger(segmentSizeBytes) || segmentSizeBytes < SEGMENT_SIZE_BYTES_MIN || segmentSizeBytes > SEGMENT_SIZE_BYTES_MAX) {
    throw new Error(`WalFileOptions.segmentSizeBytes must be an integer in [${SEGMENT_SIZE_BYTES_MIN}, ${SEGMENT_SIZE_BYTES_MAX}], got ${segmentSizeBytes}`);
  }
  if (!Number.isSafeInteger(queuedBytesMax) || queuedBytesMax < 1) {
    throw new Error(`WalFileOptions.queuedBytesMax must be a positive integer, got ${queuedBytesMax}`);
  }
  return { dir: options.dir, segmentSizeBytes, syncData: options.syncData ?? true, queuedBytesMax };
}
