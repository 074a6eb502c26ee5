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
import { NotificationBatch } from '../wire/client.js';
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
 * after the parent's; the parent's notification batches cut down to the keys the child
 * owns (empty ones dropped), so that a subscriber can go on reading the parent's
 * notifications from the child. A changed key still in the store follows its record; a
 * key no longer in it (deleted; the start of a deleted range) follows its own hash, whatever
 * partition key it had: the notification then comes from one child, perhaps not the one that
 * owns the partition key.
 *
 * Entries must come in store order: user records sort before every internal key, so the
 * records left out (and those kept though their own key hashes outside the range) are
 * known by the time their index entries, shadows and notifications come.
 */
export class SplitKeyFilter {
  private readonly leftOut = new Set<string>();
  /** Records kept by their partition key although their own key hashes outside the range. */
  private readonly keptByPartitionKey = new Set<string>();
  kept = 0;
  dropped = 0;

  constructor(
    private readonly range: HashRange,
    private readonly encoder: KeyEncoder,
  ) {}

  /** The value the child gets for this entry of the parent (the same or cut down), or undefined to leave it out. */
  copy(encodedKey: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    const key = this.encoder.decode(encodedKey);
    let copied: Uint8Array | undefined;
    if (isInternalEncoded(encodedKey) && key.startsWith(NOTIFICATIONS_PREFIX)) copied = this.notificationsOwned(value);
    else copied = this.decide(key, encodedKey, value) ? value : undefined;
    if (copied !== undefined) this.kept++;
    else this.dropped++;
    return copied;
  }

  private decide(key: string, encodedKey: Uint8Array, value: Uint8Array): boolean {
    if (!isInternalEncoded(encodedKey) || !isReservedKey(key)) return this.keepRecord(key, value);
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
    else if (partitionKey !== undefined && !rangeContains(this.range, routingHash(key))) this.keptByPartitionKey.add(key);
    return inside;
  }

  /** The batch with only the notifications of keys this child owns; undefined when none is left. */
  private notificationsOwned(value: Uint8Array): Uint8Array | undefined {
    const batch = NotificationBatch.decode(value);
    const notifications = batch.notifications.filter(({ key }) => key !== undefined && this.ownsChangedKey(key));
    if (notifications.length === 0) return undefined;
    if (notifications.length === batch.notifications.length) return value;
    return NotificationBatch.encode({ ...batch, notifications }).finish();
  }

  private ownsChangedKey(key: string): boolean {
    if (this.leftOut.has(key)) return false;
    return this.keptByPartitionKey.has(key) || rangeContains(this.range, routingHash(key));
  }
}
