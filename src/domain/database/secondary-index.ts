import type { KeyEncoder } from '../keys/key-encoder.js';
import { indexEntryKey } from '../keys/internal-keys.js';
import type { SecondaryIndex } from '../wire/client.js';

/**
 * Secondary indexes are entries "__oxia/idx/<index>/<secondary key>\x01<escaped primary
 * key>" with empty values, written and removed in the same batch as their record. The
 * record keeps its SecondaryIndex list, which is how a later overwrite or delete finds
 * the entries to remove.
 */

/** Index names are one path segment: with a '/', entries could not be told apart from another index's. */
export function isUsableIndexName(name: string): boolean {
  return !name.includes('/');
}

/** Encoded index entry keys of a record (entries with unusable index names are not kept). */
export function indexEntryKeys(encoder: KeyEncoder, primaryKey: string, indexes: readonly SecondaryIndex[]): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (const si of indexes) {
    if (!isUsableIndexName(si.indexName)) continue;
    keys.push(encoder.encode(indexEntryKey(si.indexName, si.secondaryKey, primaryKey)));
  }
  return keys;
}
