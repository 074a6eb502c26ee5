import {
  CHECKSUM_KEY,
  INTEGRITY_KEY,
  INDEX_PREFIX,
  NOTIFICATIONS_PREFIX,
  SESSIONS_PREFIX,
  isReservedKey,
  parseIndexEntryKey,
  parseSessionKey,
  parseShadowKey,
} from '../keys/internal-keys.js';
import { isInternalEncoded, type KeyEncoder } from '../keys/key-encoder.js';
import { StorageEntry } from '../wire/storage.js';
import { routingHash, routingKey } from './hash.js';
import { rangeContains, type HashRange } from './hash-range.js';

const SESSION_KEY_LENGTH = SESSIONS_PREFIX.length + 16;

/**
 * Which entries of a parent shard's store a child of a split keeps (ADR 0025): the records
 * whose routing key (partition key, else key) hashes into the child's range, with their
 * secondary index entries and session shadows; every session record (a session may own
 * records in both children, and its id must stay valid in both); the shard's scalars (commit
 * offset, last version id, term options), so that the child's log and versions continue
 * after the parent's. Notification batches are dropped: they describe keys of both children.
 *
 * Entries must come in store order: user records sort before every internal key, so the
 * records left out are known by the time their index entries and shadows come.
 */
export class SplitKeyFilter {
  private readonly leftOut = new Set<string>();
  kept = 0;
  dropped = 0;

  constructor(
    private readonly range: HashRange,
    private readonly encoder: KeyEncoder,
  ) {}

  keep(encodedKey: Uint8Array, value: Uint8Array): boolean {
    const keep = this.decide(encodedKey, value);
    if (keep) this.kept++;
    else this.dropped++;
    return keep;
  }

  private decide(encodedKey: Uint8Array, value: Uint8Array): boolean {
    const key = this.encoder.decode(encodedKey);
    if (!isInternalEncoded(encodedKey) || !isReservedKey(key)) return this.keepRecord(key, value);
    if (key.startsWith(NOTIFICATIONS_PREFIX)) return false;
    if (key === CHECKSUM_KEY) return false;
    // The parent's chain value and digest describe the parent: the child computes its own (ADR 0031).
    if (key === INTEGRITY_KEY) return false;
    if (key.startsWith(INDEX_PREFIX)) {
      const entry = parseIndexEntryKey(key);
      return entry !== undefined && !this.leftOut.has(entry.primaryKey);
    }
    if (key.startsWith(SESSIONS_PREFIX)) {
      if (parseSessionKey(key) !== undefined) return true;
      const owned = parseShadowKey(key, key.slice(0, SESSION_KEY_LENGTH) + '/');
      return owned !== undefined && !this.leftOut.has(owned);
    }
    return true; // commit offset, last version id, term, term options, features
  }

  private keepRecord(key: string, value: Uint8Array): boolean {
    let partitionKey: string | undefined;
    try {
      partitionKey = StorageEntry.decode(value).partitionKey;
    } catch {
      partitionKey = undefined; // not a record: route by its key
    }
    const inside = rangeContains(this.range, routingHash(routingKey(key, partitionKey)));
    if (!inside) this.leftOut.add(key);
    return inside;
  }
}
