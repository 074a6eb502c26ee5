import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OxiaError, invalidArgument } from '../../domain/errors/oxia-error.js';
import { isValidNamespaceName } from '../../domain/sharding/namespace.js';
import type { ShardRef } from '../../application/ports/shard-ref.js';

/**
 * Where a shard's store files live: `<dataDir>/<namespace>/<shard>/`. The namespace
 * is checked against Oxia's naming rule first, so a name can never climb out of
 * dataDir ("..", "/").
 */
export function shardDirectory(dataDir: string, shard: ShardRef): string {
  if (!isValidNamespaceName(shard.namespace)) throw invalidArgument(`invalid namespace name: ${JSON.stringify(shard.namespace)}`);
  if (shard.shard < 0n) throw invalidArgument(`invalid shard id: ${shard.shard}`);
  return resolve(dataDir, shard.namespace, shard.shard.toString());
}

/**
 * Store files open in this process. Two handles on one store would each believe they
 * own its state (and LevelDB refuses the second with a less helpful error), so a second
 * open is refused up front. Process-wide on purpose: two factories may share a dataDir.
 */
const openStores = new Set<string>();

/** Claims `path` for one open store; returns the release function (idempotent). */
export function claimStoreFiles(path: string): () => void {
  if (openStores.has(path)) throw new OxiaError('ResourceConflict', `store ${path} is already open in this process`);
  openStores.add(path);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    openStores.delete(path);
  };
}

export function assertStoreClosed(path: string): void {
  if (openStores.has(path)) throw new OxiaError('ResourceConflict', `store ${path} is open: close it before deleting`);
}

/**
 * Removes the named store files of a shard, then the shard directory if nothing else
 * is left in it. Only our own names: the directory may be shared with other shard data.
 */
export async function removeStoreFiles(shardDir: string, names: readonly string[]): Promise<void> {
  for (const name of names) await rm(join(shardDir, name), { recursive: true, force: true });
  try {
    await rmdir(shardDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
  }
}

/** Bytes of the regular files under `path` (a file or a directory tree). Missing paths count 0. */
export async function bytesOnDisk(path: string): Promise<bigint> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    // Backends delete files as they compact or checkpoint: a file gone between readdir and stat is fine.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0n;
    throw e;
  }
  if (!info.isDirectory()) return info.isFile() ? BigInt(info.size) : 0n;
  let total = 0n;
  for (const name of await readdir(path)) total += await bytesOnDisk(join(path, name));
  return total;
}

/**
 * Backends hand out Buffers; the port speaks Uint8Array. A plain view over the same
 * memory (no copy) makes both backends return the same type, so callers comparing
 * values structurally see no difference.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A range's limit as a count: absent means unbounded. Anything else but a count is a caller bug. */
export function rangeLimit(limit: number | undefined): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isInteger(limit) || limit < 0) throw new Error(`range limit must be a non-negative integer, got ${limit}`);
  return limit;
}
