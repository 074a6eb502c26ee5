import { compareUtf8 } from '../keys/bytes.js';
import { internalChildrenRange } from '../keys/key-encoder.js';
import { NOTIFICATIONS_PREFIX, isInternalKey, notificationKey } from '../keys/internal-keys.js';
import { type Notification, NotificationBatch, NotificationType } from '../wire/client.js';
import type { KvOp, KvReadView } from './kv-view.js';
import { INTERNAL_ENCODER } from './records.js';
import { encodeMessage } from './message-encoding.js';

/**
 * Change notifications: each applied entry that changed user keys stores one
 * NotificationBatch under "__oxia/notifications/<offset>", so subscribers can resume
 * from any offset still retained. Internal keys never produce notifications.
 */
export class NotificationCollector {
  private readonly items: Array<[string, Notification]> = [];

  get size(): number {
    return this.items.length;
  }

  modified(key: string, versionId: bigint, modificationsCount: bigint): void {
    if (isInternalKey(key)) return;
    this.items.push([key, { type: modificationsCount > 0n ? NotificationType.KEY_MODIFIED : NotificationType.KEY_CREATED, versionId }]);
  }

  deleted(key: string): void {
    if (isInternalKey(key)) return;
    this.items.push([key, { type: NotificationType.KEY_DELETED }]);
  }

  /** Recorded under the range's start key, whether or not the range held anything. */
  rangeDeleted(startInclusive: string, endExclusive: string): void {
    if (isInternalKey(startInclusive)) return;
    this.items.push([startInclusive, { type: NotificationType.KEY_RANGE_DELETED, keyRangeLast: endExclusive }]);
  }

  /** Moves another collector's items after this one's (a request that succeeded within the entry). */
  absorb(other: NotificationCollector): void {
    for (const item of other.items) this.items.push(item);
    other.items.length = 0;
  }

  /** Takes the items collected so far, in order (an entry written in chunks sets them aside). */
  drain(): Array<[string, Notification]> {
    return this.items.splice(0);
  }

  /**
   * The batch: one notification per key, the last operation on it winning, sorted by
   * the key's bytes (it encodes like a protobuf map, whose order Oxia fixes this way).
   * `earlier`: items drained before this collector's own, in order.
   */
  seal(shard: bigint, offset: bigint, timestampMs: bigint, earlier: ReadonlyArray<readonly [string, Notification]> = []): NotificationBatch {
    const all = earlier.length === 0 ? this.items : [...earlier, ...this.items];
    const sorted = all
      .map((item, seq) => ({ item, seq }))
      .sort((a, b) => compareUtf8(a.item[0], b.item[0]) || a.seq - b.seq);
    const notifications: NotificationBatch['notifications'] = [];
    for (let i = 0; i < sorted.length; i++) {
      const next = sorted[i + 1];
      const [key, value] = sorted[i]!.item;
      if (next && next.item[0] === key) continue;
      notifications.push({ key, value });
    }
    return { shard, offset, timestamp: timestampMs, notifications };
  }
}

export function notificationBatchOp(batch: NotificationBatch): KvOp {
  return {
    type: 'put',
    key: INTERNAL_ENCODER.encode(notificationKey(batch.offset)),
    value: encodeMessage(NotificationBatch, batch),
  };
}

/** Stored batches with offset > startOffsetExclusive, in offset order. */
export async function* readNotifications(
  view: KvReadView,
  startOffsetExclusive: bigint,
): AsyncIterable<NotificationBatch> {
  const all = internalChildrenRange(NOTIFICATIONS_PREFIX);
  const from = startOffsetExclusive < -1n ? 0n : startOffsetExclusive + 1n;
  for await (const e of view.range({ gte: INTERNAL_ENCODER.encode(notificationKey(from)), lt: all.lt })) {
    yield NotificationBatch.decode(e.value);
  }
}

/** Upper bound on the deletes one trim returns, so retention runs as several bounded writes. */
export const NOTIFICATION_TRIM_OPS_MAX = 10_000;

/**
 * Deletes for the oldest batches whose timestamp is below `olderThanMs`, stopping at
 * the first newer one (timestamps follow offsets) or after `maxOps`.
 */
export async function notificationTrimOps(
  view: KvReadView,
  olderThanMs: bigint,
  maxOps: number = NOTIFICATION_TRIM_OPS_MAX,
): Promise<KvOp[]> {
  const ops: KvOp[] = [];
  if (maxOps <= 0) return ops;
  for await (const e of view.range(internalChildrenRange(NOTIFICATIONS_PREFIX))) {
    const batch = NotificationBatch.decode(e.value);
    if (batch.timestamp >= olderThanMs) break;
    ops.push({ type: 'del', key: e.key });
    if (ops.length >= maxOps) break;
  }
  return ops;
}
