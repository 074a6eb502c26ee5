import type { ServiceIdentifier } from 'inversify';

/** Settings shared by the key-value store backends (bootstrap binds one backend). */
export interface KvOptions {
  /** Root of the stores: each shard lives in `<dataDir>/<namespace>/<shard>/`. */
  readonly dataDir: string;
  /**
   * Entries a range scan reads from the backend per step. Bounds the memory one scan
   * holds, whatever the size of the range. Defaults to DEFAULT_RANGE_PAGE_SIZE.
   */
  readonly rangePageSize?: number;
}
export const KvOptions: ServiceIdentifier<KvOptions> = Symbol.for('oxia.KvOptions');

export const DEFAULT_RANGE_PAGE_SIZE = 256;

export function rangePageSizeOf(options: KvOptions): number {
  const size = options.rangePageSize ?? DEFAULT_RANGE_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1) throw new Error(`rangePageSize must be a positive integer, got ${size}`);
  return size;
}
