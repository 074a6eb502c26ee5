import { type OxiaError, invalidArgument, isOxiaError } from '../errors/oxia-error.js';
import { EMPTY_BYTES, compareBytes } from '../keys/bytes.js';
import { INTERNAL_REGION_START, type KeyEncoder, internalChildrenRange, keyEncoder } from '../keys/key-encoder.js';
import {
  COMMIT_OFFSET_KEY,
  LAST_VERSION_ID_KEY,
  isReservedKey,
  parseSessionKey,
  parseShadowKey,
  sessionKey,
  shadowKey,
} from '../keys/internal-keys.js';
import {
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type DeleteRequest,
  type DeleteResponse,
  type PutRequest,
  type PutResponse,
  Status,
  type WriteRequest,
  type WriteResponse,
} from '../wire/client.js';
import { type ControlRequest, type SessionMetadata, StorageEntry } from '../wire/storage.js';
import type { AppliedEntry, DatabaseConfig, EntryToApply } from './api.js';
import { featureOp } from './commit-state.js';
import type { KvReadView } from './kv-view.js';
import { NotificationCollector, notificationBatchOp } from './notifications.js';
import { OverlayView } from './overlay-view.js';
import {
  INTERNAL_ENCODER,
  asciiLongOp,
  encodeRecord,
  readAsciiLong,
  readRecord,
  versionOf,
} from './records.js';
import { indexEntryKeys } from './secondary-index.js';
import { nextSequenceKey } from './sequences.js';
import { decodeSessionMetadata } from './sessions.js';

/**
 * The database state machine: applies one committed log entry to a view of the
 * shard's store and returns the writes to make, the responses, and what changed.
 * Deterministic: no clock, no randomness, only the entry and the view's content, so
 * every replica computes the same ops.
 *
 * Semantics follow Oxia's database: per WriteRequest all puts, then deletes, then
 * delete ranges; version ids from a shard-wide counter that each successful put
 * advances (the first is 0); sessions, shadows, secondary indexes and notifications
 * maintained in the same batch. A WriteRequest that Oxia would reject with an error
 * (sequence-key misuse) fails as a whole, changing nothing, and the others still apply.
 */
export async function applyEntry(view: KvReadView, entry: EntryToApply, config: DatabaseConfig): Promise<AppliedEntry> {
  const encoder = keyEncoder(config.keySorting);
  let entryView = new OverlayView(view);
  const notifications = config.notificationsEnabled ? new NotificationCollector() : undefined;
  const responses: WriteResponse[] = [];
  const errors: Array<OxiaError | undefined> = [];
  const sequenceUpdates = new Map<string, string>();
  const sessionsCreated = new Map<bigint, SessionMetadata>();
  const sessionsRemoved: bigint[] = [];
  const value = entry.value.value;

  if (value?.$case === 'requests') {
    let versionId = await readAsciiLong(view, LAST_VERSION_ID_KEY, -1n);
    // The common entry holds one WriteRequest (a client's batch for this shard): it is staged
    // straight into the entry's overlay, which is replaced by an empty one if the request
    // fails. Several requests each get their own overlay, so that one failing drops only its own.
    const single = value.value.writes.length === 1;
    for (const write of value.value.writes) {
      const tx = new WriteTransaction(single ? entryView : new OverlayView(entryView), encoder, entry.timestampMs, versionId, notifications !== undefined);
      try {
        responses.push(await tx.apply(write));
      } catch (e) {
        if (!isOxiaError(e)) throw e;
        if (single) entryView = new OverlayView(view);
        responses.push({ puts: [], deletes: [], deleteRanges: [] });
        errors.push(e);
        continue;
      }
      errors.push(undefined);
      if (!single) entryView.write(tx.view.pendingOps());
      versionId = tx.versionId;
      if (notifications && tx.notifications) notifications.absorb(tx.notifications);
      for (const [prefix, key] of tx.sequenceUpdates) sequenceUpdates.set(prefix, key);
      for (const [id, metadata] of tx.sessionsCreated) sessionsCreated.set(id, metadata);
      for (const id of tx.sessionsRemoved) {
        sessionsCreated.delete(id);
        if (!sessionsRemoved.includes(id)) sessionsRemoved.push(id);
      }
    }
    entryView.write([asciiLongOp(LAST_VERSION_ID_KEY, versionId, entry.timestampMs)]);
  } else if (value?.$case === 'controlRequest') {
    entryView.write(controlOps(value.value, entry.timestampMs));
  }

  entryView.write([asciiLongOp(COMMIT_OFFSET_KEY, entry.offset, entry.timestampMs)]);
  let batch: AppliedEntry['notifications'];
  if (notifications && notifications.size > 0) {
    batch = notifications.seal(config.shard ?? 0n, entry.offset, entry.timestampMs);
    entryView.write([notificationBatchOp(batch)]);
  }

  return {
    ops: entryView.pendingOps(),
    responses,
    errors,
    notifications: batch,
    sequenceUpdates,
    sessionsCreated,
    sessionsRemoved,
  };
}

function controlOps(request: ControlRequest, timestampMs: bigint) {
  // Oxia's checksum feature hashes its storage engine's batch encoding, which has no
  // equivalent here: the flag is recorded, checksum requests are no-ops.
  if (request.value?.$case !== 'featureEnable') return [];
  return request.value.value.features.map((f) => featureOp(f, timestampMs));
}

function versionMatches(existing: StorageEntry | undefined, expected: bigint | undefined): boolean {
  if (expected === undefined) return true;
  return existing === undefined ? expected === -1n : existing.versionId === expected;
}

/** One WriteRequest applied to its own overlay, so that a failure can drop all of it. */
class WriteTransaction {
  readonly notifications: NotificationCollector | undefined;
  readonly sequenceUpdates = new Map<string, string>();
  readonly sessionsCreated = new Map<bigint, SessionMetadata>();
  readonly sessionsRemoved: bigint[] = [];

  constructor(
    readonly view: OverlayView,
    private readonly encoder: KeyEncoder,
    private readonly timestampMs: bigint,
    public versionId: bigint,
    notify: boolean,
  ) {
    this.notifications = notify ? new NotificationCollector() : undefined;
  }

  async apply(write: WriteRequest): Promise<WriteResponse> {
    const puts: PutResponse[] = [];
    for (const p of write.puts) puts.push(await this.put(p));
    const deletes: DeleteResponse[] = [];
    for (const d of write.deletes) deletes.push(await this.delete(d));
    const deleteRanges: DeleteRangeResponse[] = [];
    for (const r of write.deleteRanges) deleteRanges.push(await this.deleteRange(r));
    return { puts, deletes, deleteRanges };
  }

  private async put(p: PutRequest): Promise<PutResponse> {
    let key = p.key;
    let existing: StorageEntry | undefined;
    let generatedKey: string | undefined;
    let encodedKey: Uint8Array | undefined;
    if (p.sequenceKeyDelta.length > 0) {
      // All keys of a sequence must live on one shard for the suffixes to be atomic.
      if (p.partitionKey === undefined) {
        throw invalidArgument(`sequence put on ${JSON.stringify(p.key)} needs a partition key`);
      }
      if (p.expectedVersionId !== undefined) return { status: Status.UNEXPECTED_VERSION_ID };
      generatedKey = await nextSequenceKey(this.view, this.encoder, p.key, p.sequenceKeyDelta);
      key = generatedKey;
      // The generated key is above every key of the sequence, hence new.
    } else {
      encodedKey = this.encoder.encode(key);
      existing = await readRecord(this.view, encodedKey);
      if (!versionMatches(existing, p.expectedVersionId)) return { status: Status.UNEXPECTED_VERSION_ID };
    }

    if (p.sessionId !== undefined && (await this.view.get(INTERNAL_ENCODER.encode(sessionKey(p.sessionId)))) === undefined) {
      return { status: Status.SESSION_DOES_NOT_EXIST };
    }
    // The record changes owner (or stops being ephemeral): move its shadow.
    if (existing?.sessionId !== undefined) this.view.del(INTERNAL_ENCODER.encode(shadowKey(existing.sessionId, key)));
    if (p.sessionId !== undefined) this.view.put(INTERNAL_ENCODER.encode(shadowKey(p.sessionId, key)), EMPTY_BYTES);

    if (existing) for (const k of indexEntryKeys(this.encoder, key, existing.secondaryIndexes)) this.view.del(k);
    for (const k of indexEntryKeys(this.encoder, key, p.secondaryIndexes)) this.view.put(k, EMPTY_BYTES);

    const versionId = p.overrideVersionId ?? ++this.versionId;
    const record: StorageEntry = {
      value: p.value,
      versionId,
      modificationsCount: existing ? existing.modificationsCount + 1n : 0n,
      creationTimestamp: existing ? existing.creationTimestamp : this.timestampMs,
      modificationTimestamp: this.timestampMs,
      sessionId: p.sessionId,
      clientIdentity: p.clientIdentity,
      partitionKey: p.partitionKey,
      secondaryIndexes: p.secondaryIndexes,
    };
    if (p.overrideModificationsCount !== undefined) record.modificationsCount = p.overrideModificationsCount;
    this.view.put(encodedKey ?? this.encoder.encode(key), encodeRecord(record));
    this.notifications?.modified(key, record.versionId, record.modificationsCount);

    const sessionId = parseSessionKey(key);
    if (sessionId !== undefined) {
      const metadata = decodeSessionMetadata(p.value);
      if (metadata) this.sessionsCreated.set(sessionId, metadata);
    }
    if (generatedKey !== undefined) this.sequenceUpdates.set(p.key, generatedKey);

    return { status: Status.OK, version: versionOf(record), ...(generatedKey !== undefined ? { key: generatedKey } : {}) };
  }

  private async delete(d: DeleteRequest): Promise<DeleteResponse> {
    const encoded = this.encoder.encode(d.key);
    const existing = await readRecord(this.view, encoded);
    if (!versionMatches(existing, d.expectedVersionId)) return { status: Status.UNEXPECTED_VERSION_ID };
    if (!existing) return { status: Status.KEY_NOT_FOUND };
    await this.removeRecord(d.key, encoded, existing, true);
    return { status: Status.OK };
  }

  /**
   * Deletes the records in [start, end) in the namespace's order (an empty end: up to
   * the last user key). The shard's own internal keys are never touched, and the
   * range produces one KEY_RANGE_DELETED notification instead of one per key.
   */
  private async deleteRange(r: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    this.notifications?.rangeDeleted(r.startInclusive, r.endExclusive);
    const gte = this.encoder.encode(r.startInclusive);
    const lt = r.endExclusive === '' ? INTERNAL_REGION_START : this.encoder.encode(r.endExclusive);
    if (compareBytes(gte, lt) >= 0) return { status: Status.OK };
    // Collected first: removing records writes to the view being scanned.
    const victims: Array<[string, Uint8Array, StorageEntry]> = [];
    for await (const e of this.view.range({ gte, lt })) {
      const key = this.encoder.decode(e.key);
      if (isReservedKey(key)) continue;
      victims.push([key, e.key, readStoredRecord(key, e.value)]);
    }
    for (const [key, encoded, record] of victims) await this.removeRecord(key, encoded, record, false);
    return { status: Status.OK };
  }

  private async removeRecord(key: string, encoded: Uint8Array, record: StorageEntry, notify: boolean): Promise<void> {
    if (record.sessionId !== undefined) this.view.del(INTERNAL_ENCODER.encode(shadowKey(record.sessionId, key)));
    const endedSession = parseSessionKey(key);
    if (endedSession !== undefined) await this.removeEphemeralRecords(endedSession);
    for (const k of indexEntryKeys(this.encoder, key, record.secondaryIndexes)) this.view.del(k);
    this.view.del(encoded);
    if (notify) this.notifications?.deleted(key);
  }

  /** The session's record is going: delete the records it still owns, found through its shadows. */
  private async removeEphemeralRecords(sessionId: bigint): Promise<void> {
    const prefix = sessionKey(sessionId) + '/';
    const shadows: Array<[Uint8Array, string | undefined]> = [];
    for await (const e of this.view.range(internalChildrenRange(prefix))) {
      shadows.push([e.key, parseShadowKey(INTERNAL_ENCODER.decode(e.key), prefix)]);
    }
    for (const [shadow, key] of shadows) {
      this.view.del(shadow);
      if (key === undefined || key === '') continue;
      const encoded = this.encoder.encode(key);
      const record = await readRecord(this.view, encoded);
      // A shadow is removed whenever its record changes owner, so this check only
      // guards against a stale shadow.
      if (record && record.sessionId === sessionId) await this.removeRecord(key, encoded, record, true);
    }
    if (!this.sessionsRemoved.includes(sessionId)) this.sessionsRemoved.push(sessionId);
    this.sessionsCreated.delete(sessionId);
  }
}

function readStoredRecord(key: string, value: Uint8Array): StorageEntry {
  try {
    return StorageEntry.decode(value);
  } catch (e) {
    throw new Error(`corrupt record ${JSON.stringify(key)}: ${String(e)}`);
  }
}
