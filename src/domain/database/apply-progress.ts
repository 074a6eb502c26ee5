import { fromUtf8, utf8 } from '../keys/bytes.js';
import { internalChildrenRange } from '../keys/key-encoder.js';
import { APPLY_NOTES_PREFIX, APPLY_PROGRESS_KEY, applyNotesKey } from '../keys/internal-keys.js';
import { type Notification, NotificationBatch } from '../wire/client.js';
import type { KvOp, KvReadView } from './kv-view.js';
import { encodeMessage } from './message-encoding.js';
import { INTERNAL_ENCODER } from './records.js';

/**
 * How far the apply of one entry got when part of it is already in the store. A delete
 * range or a session end may remove more records than one bounded store write should
 * hold; their removals then reach the store in chunks (see applyEntry), each written
 * atomically with this record. The commit offset moves only with the entry's last write,
 * so after a crash the entry is applied again: from here, not from its start, because
 * its earlier operations already changed what they read.
 *
 * Stored under "__oxia/apply-progress" (a reserved internal key), with the notifications
 * the entry had collected when each chunk was written under "__oxia/apply-progress/<n>":
 * the entry's notification batch is sealed from them once it ends.
 */
export interface ApplyProgress {
  /** The entry (log offset) being applied; always the one after the store's commit offset. */
  readonly offset: bigint;
  /** Index of its WriteRequest whose removals were being written. */
  readonly request: number;
  readonly phase: 'deletes' | 'deleteRanges';
  /** Index of the delete (a session end) or delete range in its list. */
  readonly item: number;
  /** Encoded key of the last record (delete range) or shadow (session end) scanned and removed. */
  readonly cursor: Uint8Array;
  /** The shard's version counter there (the last-version-id record is written with the commit offset). */
  readonly versionId: bigint;
  /** Notification records set aside so far: keys 0 .. notes-1. */
  readonly notes: number;
}

const PROGRESS_KEY = INTERNAL_ENCODER.encode(APPLY_PROGRESS_KEY);

/** The progress record in the store, or undefined when the last applied entry was applied whole. */
export async function readApplyProgress(view: KvReadView): Promise<ApplyProgress | undefined> {
  const value = await view.get(PROGRESS_KEY);
  return value === undefined ? undefined : decodeApplyProgress(value);
}

export function applyProgressOp(progress: ApplyProgress): KvOp {
  const json = JSON.stringify({
    offset: progress.offset.toString(),
    request: progress.request,
    phase: progress.phase,
    item: progress.item,
    cursor: Buffer.from(progress.cursor).toString('hex'),
    versionId: progress.versionId.toString(),
    notes: progress.notes,
  });
  return { type: 'put', key: PROGRESS_KEY, value: utf8(json) };
}

function decodeApplyProgress(value: Uint8Array): ApplyProgress {
  const text = fromUtf8(value);
  const corrupt = (): Error => new Error(`corrupt apply progress record: ${JSON.stringify(text)}`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw corrupt();
  }
  const { offset, request, phase, item, cursor, versionId, notes } = raw;
  const isIndex = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (
    typeof offset !== 'string' || !/^\d+$/.test(offset) ||
    !isIndex(request) || (phase !== 'deletes' && phase !== 'deleteRanges') || !isIndex(item) ||
    typeof cursor !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(cursor) ||
    typeof versionId !== 'string' || !/^-?\d+$/.test(versionId) || !isIndex(notes)
  ) {
    throw corrupt();
  }
  return {
    offset: BigInt(offset),
    request,
    phase,
    item,
    cursor: Uint8Array.from(Buffer.from(cursor, 'hex')),
    versionId: BigInt(versionId),
    notes,
  };
}

/** The `seq`-th set-aside notification record: items in the order they were collected. */
export function applyNotesOp(seq: number, items: ReadonlyArray<readonly [string, Notification]>): KvOp {
  const batch: NotificationBatch = {
    shard: 0n,
    offset: 0n,
    timestamp: 0n,
    notifications: items.map(([key, value]) => ({ key, value })),
  };
  return { type: 'put', key: INTERNAL_ENCODER.encode(applyNotesKey(seq)), value: encodeMessage(NotificationBatch, batch) };
}

/** The items of the first `count` set-aside notification records, in order. */
export async function readApplyNotes(view: KvReadView, count: number): Promise<Array<[string, Notification]>> {
  const items: Array<[string, Notification]> = [];
  if (count === 0) return items;
  let seen = 0;
  for await (const e of view.range(internalChildrenRange(APPLY_NOTES_PREFIX))) {
    for (const n of NotificationBatch.decode(e.value).notifications) {
      if (n.key === undefined || n.value === undefined) throw new Error('corrupt set-aside notification record');
      items.push([n.key, n.value]);
    }
    if (++seen === count) break;
  }
  if (seen !== count) throw new Error(`${count} set-aside notification records expected, ${seen} found`);
  return items;
}

/** Removes the progress record and the `notes` notification records: the entry is applied whole. */
export function applyProgressDoneOps(notes: number): KvOp[] {
  const ops: KvOp[] = [{ type: 'del', key: PROGRESS_KEY }];
  for (let seq = 0; seq < notes; seq++) ops.push({ type: 'del', key: INTERNAL_ENCODER.encode(applyNotesKey(seq)) });
  return ops;
}
