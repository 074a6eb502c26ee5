import { readIntegrity, scanDigest } from '../../domain/integrity/index.js';
import type { KvReadView } from '../../domain/database/kv-view.js';
import type { KvStore } from '../ports/kv-store.js';
import { readInstallingMarker } from './snapshot-install.js';
import { yieldingScans } from './yielding-scan.js';

/** A store whose records do not give the digest its integrity record says they had (ADR 0031). */
export interface DigestMismatch {
  /** The last entry applied, as the integrity record says. */
  readonly offset: bigint;
  readonly recorded: bigint;
  readonly scanned: bigint;
}

/**
 * Whether the records in `view` give the digest its integrity record holds, by a full scan. A view
 * without a record (a new store, or one older than the record) or with a snapshot install under way
 * has nothing to compare. `view` must not change while it is read: the store of a shard that does
 * not apply, or a frozen view (storeDigestMismatchNow).
 */
export async function storeDigestMismatch(view: KvReadView): Promise<DigestMismatch | undefined> {
  const record = await readIntegrity(view);
  if (!record || (await readInstallingMarker(view)) !== undefined) return undefined;
  // A whole store is read: the event loop turns meanwhile, so the node's other shards and its
  // health checks are served.
  const scanned = await scanDigest(yieldingScans(view));
  return scanned === record.digest ? undefined : { offset: record.offset, recorded: record.digest, scanned };
}

/**
 * The same check on a running store, at one consistent point: through its frozen view (a LevelDB
 * snapshot, a copy of the SQLite file), so writes go on while it is scanned. Every store write of an
 * apply carries its integrity record, so at any point the record describes exactly what is stored.
 */
export async function storeDigestMismatchNow(kv: KvStore): Promise<DigestMismatch | undefined> {
  const view = await kv.snapshot();
  try {
    return await storeDigestMismatch(view);
  } finally {
    await view.close();
  }
}
