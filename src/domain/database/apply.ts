import { type OxiaError, invalidArgument, isOxiaError } from '../errors/oxia-error.js';
import { EMPTY_BYTES, compareBytes, concatBytes } from '../keys/bytes.js';
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
import {
  type ApplyProgress,
  applyNotesOp,
  applyProgressDoneOps,
  applyProgressOp,
  readApplyNotes,
} from './apply-progress.js';
import { featureOp } from './commit-state.js';
import type { KvEntry, KvOp, KvReadView } from './kv-view.js';
import { NotificationCollector, notificationBatchOp } from './notifications.js';
import { OverlayView } from './overlay-view.js';
import {
  INTERNAL_ENCODER,
  asciiLongOp,
  encodeRecord,
  type RecordHeader,
  readAsciiLong,
  readRecord,
  readRecordHeader,
  versionOf,
} from './records.js';
import { indexEntryKeys } from './secondary-index.js';
import { nextSequenceKey } from './sequences.js';
import { decodeSessionMetadata } from './sessions.js';

/**
 * Staged keys of one entry beyond which its removals are written to the store in a chunk
 * (when the caller allows it): a few megabytes of memory whatever a range holds.
 */
export const APPLY_CHUNK_KEYS_DEFAULT = 1024;
/** Records (delete range) or shadows (session end) read from the store per step, at most (see pageEntries). */
const SCAN_PAGE_ENTRIES_MAX = 128;

export interface ApplyOptions {
  /**
   * Writes `ops` to the store now, after whatever the caller still holds of earlier
   * entries, and then forgets what it held: the view given to applyEntry reads the store
   * directly again. With it, a delete range or a session end that removes more than
   * `chunkKeys` staged keys writes its removals in chunks, each atomically with an
   * ApplyProgress record, so that applying one entry holds a bounded number of keys.
   * Without it, everything the entry writes is held until it ends (and returned in ops).
   */
  readonly spill?: ((ops: KvOp[]) => Promise<void>) | undefined;
  /** Staged keys that start a chunk (APPLY_CHUNK_KEYS_DEFAULT when absent). */
  readonly chunkKeys?: number | undefined;
  /**
   * The store's progress record (readApplyProgress), when a chunk of this entry reached the
   * store and the apply was then interrupted: the entry continues from there.
   */
  readonly resume?: ApplyProgress | undefined;
}

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
 *
 * Large removals (see ApplyOptions.spill) reach the store before the entry ends, with the
 * commit offset still at the previous entry: a crash in between makes the shard apply the
 * entry again, from its progress record. Where chunks are cut does not change the result,
 * so replicas that cut them elsewhere (their batches differ) still agree. An entry resumed
 * that way answers nobody (its proposer failed with the interrupted apply): its responses
 * are empty, and sequenceUpdates and sessions report only what followed the resume point.
 */
export async function applyEntry(
  view: KvReadView,
  entry: EntryToApply,
  config: DatabaseConfig,
  options: ApplyOptions = {},
): Promise<AppliedEntry> {
  const resume = options.resume;
  if (resume !== undefined && resume.offset !== entry.offset) {
    throw new Error(`the store holds the progress of entry ${resume.offset}, not of entry ${entry.offset} being applied`);
  }
  const encoder = keyEncoder(config.keySorting);
  const notifications = config.notificationsEnabled ? new NotificationCollector() : undefined;
  const chunks = new EntryChunks(view, entry.offset, options, notifications);
  const responses: WriteResponse[] = [];
  const errors: Array<OxiaError | undefined> = [];
  const sequenceUpdates = new Map<string, string>();
  const sessionsCreated = new Map<bigint, SessionMetadata>();
  const sessionsRemoved: bigint[] = [];
  const value = entry.value.value;

  if (value?.$case === 'requests') {
    let versionId = resume?.versionId ?? (await readAsciiLong(view, LAST_VERSION_ID_KEY, -1n));
    // The common entry holds one WriteRequest (a client's batch for this shard): it is staged
    // straight into the entry's overlay, which is replaced by an empty one if the request
    // fails. Several requests each get their own overlay, so that one failing drops only its own.
    const writes = value.value.writes;
    const single = writes.length === 1;
    for (let i = 0; i < writes.length; i++) {
      // Requests before the resume point are in the store already.
      if (resume !== undefined && i < resume.request) continue;
      const txView = single ? chunks.entryView : new OverlayView(chunks.entryView);
      const tx = new WriteTransaction(txView, encoder, entry.timestampMs, versionId, notifications !== undefined, chunks, i);
      try {
        responses.push(await tx.apply(writes[i]!, resume?.request === i ? resume : undefined));
      } catch (e) {
        if (!isOxiaError(e)) throw e;
        // A request can fail only in its puts, before any of its removals could reach the store.
        if (tx.chunked) throw new Error(`request ${i} of entry ${entry.offset} failed after a chunk of it was written`, { cause: e });
        if (single) chunks.entryView = new OverlayView(view);
        responses.push({ puts: [], deletes: [], deleteRanges: [] });
        errors.push(e);
        continue;
      }
      errors.push(undefined);
      if (!single) chunks.entryView.write(tx.view.pendingOps());
      versionId = tx.versionId;
      if (notifications && tx.notifications) notifications.absorb(tx.notifications);
      for (const [prefix, key] of tx.sequenceUpdates) sequenceUpdates.set(prefix, key);
      for (const [id, metadata] of tx.sessionsCreated) sessionsCreated.set(id, metadata);
      for (const id of tx.sessionsRemoved) {
        sessionsCreated.delete(id);
        if (!sessionsRemoved.includes(id)) sessionsRemoved.push(id);
      }
    }
    if (resume !== undefined) {
      responses.length = 0;
      errors.length = 0;
      for (let i = 0; i < writes.length; i++) {
        responses.push({ puts: [], deletes: [], deleteRanges: [] });
        errors.push(undefined);
      }
    }
    // A split's child raises its counter to its parent's (split-entry-filter.ts).
    const floor = value.value.versionIdFloor;
    if (floor !== undefined && floor > versionId) versionId = floor;
    chunks.entryView.write([asciiLongOp(LAST_VERSION_ID_KEY, versionId, entry.timestampMs)]);
  } else if (value?.$case === 'controlRequest') {
    chunks.entryView.write(controlOps(value.value, entry.timestampMs));
  }

  const entryView = chunks.entryView;
  // Read before the records go: the notifications set aside with the chunks.
  const earlierNotifications = notifications && chunks.notes > 0 ? await readApplyNotes(entryView, chunks.notes) : [];
  if (chunks.inStore) entryView.write(applyProgressDoneOps(chunks.notes));
  entryView.write([asciiLongOp(COMMIT_OFFSET_KEY, entry.offset, entry.timestampMs)]);
  let batch: AppliedEntry['notifications'];
  if (notifications && notifications.size + earlierNotifications.length > 0) {
    batch = notifications.seal(config.shard ?? 0n, entry.offset, entry.timestampMs, earlierNotifications);
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

/** Where a chunk was cut: the delete (session end) or delete range being applied, and its last key removed. */
interface ChunkPosition {
  readonly phase: ApplyProgress['phase'];
  readonly item: number;
  readonly cursor: Uint8Array;
}

/**
 * The entry's overlay and, when the caller allows it, the writing of its removals in
 * chunks: everything staged so far (earlier requests, the current one), the notifications
 * collected so far (set aside in records of their own) and the progress record, in one
 * atomic store write, after which the overlays start empty again.
 */
class EntryChunks {
  entryView: OverlayView;
  /** Notification records set aside so far. */
  notes: number;
  /** The store holds a progress record of this entry (a chunk was written, or the apply resumed). */
  inStore: boolean;
  private readonly chunkKeys: number;
  /** Entries a removal reads per step: no more than a chunk holds, so that small chunks stay small. */
  readonly pageEntries: number;

  constructor(
    view: KvReadView,
    private readonly offset: bigint,
    private readonly options: ApplyOptions,
    private readonly notifications: NotificationCollector | undefined,
  ) {
    this.entryView = new OverlayView(view);
    this.notes = options.resume?.notes ?? 0;
    this.inStore = options.resume !== undefined;
    this.chunkKeys = options.chunkKeys ?? APPLY_CHUNK_KEYS_DEFAULT;
    if (!Number.isInteger(this.chunkKeys) || this.chunkKeys < 1) throw new Error(`chunkKeys must be a positive integer, got ${this.chunkKeys}`);
    this.pageEntries = Math.min(SCAN_PAGE_ENTRIES_MAX, this.chunkKeys);
  }

  /** Writes a chunk when the entry has staged enough keys (and the caller allows chunks). */
  async cutIfFull(tx: WriteTransaction, position: ChunkPosition): Promise<void> {
    const spill = this.options.spill;
    if (spill === undefined) return;
    const staged = tx.view.pendingCount + (tx.view === this.entryView ? 0 : this.entryView.pendingCount);
    if (staged < this.chunkKeys) return;
    let ops: KvOp[] = tx.view === this.entryView ? [] : this.entryView.pendingOps();
    ops = ops.concat(tx.view.pendingOps());
    if (this.notifications) {
      if (tx.notifications) this.notifications.absorb(tx.notifications);
      const items = this.notifications.drain();
      if (items.length > 0) ops.push(applyNotesOp(this.notes++, items));
    }
    ops.push(applyProgressOp({ offset: this.offset, request: tx.index, ...position, versionId: tx.versionId, notes: this.notes }));
    await spill(ops);
    this.entryView.clear();
    tx.view.clear();
    this.inStore = true;
    tx.chunked = true;
  }
}

function controlOps(request: ControlRequest, timestampMs: bigint) {
  // Oxia's checksum feature hashes its storage engine's batch encoding, which has no
  // equivalent here: the flag is recorded, checksum requests are no-ops.
  if (request.value?.$case !== 'featureEnable') return [];
  return request.value.value.features.map((f) => featureOp(f, timestampMs));
}

function versionMatches(existing: RecordHeader | undefined, expected: bigint | undefined): boolean {
  if (expected === undefined) return true;
  return existing === undefined ? expected === -1n : existing.versionId === expected;
}

/** One WriteRequest applied to its own overlay, so that a failure can drop all of it. */
class WriteTransaction {
  readonly notifications: NotificationCollector | undefined;
  readonly sequenceUpdates = new Map<string, string>();
  readonly sessionsCreated = new Map<bigint, SessionMetadata>();
  readonly sessionsRemoved: bigint[] = [];
  /** A chunk of this request reached the store. */
  chunked = false;
  /** The delete or delete range being applied, for the progress record of a chunk. */
  private phase: ApplyProgress['phase'] = 'deletes';
  private item = 0;
  /** Where the interrupted removal of the resumed item stopped: consumed by the first removal loop. */
  private resumeCursor: Uint8Array | undefined;

  constructor(
    readonly view: OverlayView,
    private readonly encoder: KeyEncoder,
    private readonly timestampMs: bigint,
    public versionId: bigint,
    notify: boolean,
    private readonly chunks: EntryChunks,
    /** The request's index in its entry. */
    readonly index: number,
  ) {
    this.notifications = notify ? new NotificationCollector() : undefined;
  }

  /** `resume`: the store already holds this request up to that point (its puts, earlier removals). */
  async apply(write: WriteRequest, resume?: ApplyProgress): Promise<WriteResponse> {
    const puts: PutResponse[] = [];
    if (resume === undefined) for (const p of write.puts) puts.push(await this.put(p));
    const deletes: DeleteResponse[] = [];
    const firstDelete = resume === undefined ? 0 : resume.phase === 'deletes' ? resume.item : write.deletes.length;
    this.phase = 'deletes';
    for (let j = firstDelete; j < write.deletes.length; j++) {
      this.item = j;
      this.resumeCursor = resume?.phase === 'deletes' && j === resume.item ? resume.cursor : undefined;
      deletes.push(await this.delete(write.deletes[j]!));
    }
    const deleteRanges: DeleteRangeResponse[] = [];
    if (write.deleteRanges.length === 0) return { puts, deletes, deleteRanges };
    const firstRange = resume?.phase === 'deleteRanges' ? resume.item : 0;
    const ranges = write.deleteRanges.map((r) => this.rangeBounds(r));
    // Delete ranges only remove, so they can go in any order: records this request staged
    // inside any of them go first, before a chunk could write them out (readers would see
    // a value that neither precedes nor follows the entry).
    await this.removeStaged(ranges.slice(firstRange));
    this.phase = 'deleteRanges';
    for (let j = firstRange; j < write.deleteRanges.length; j++) {
      this.item = j;
      const r = write.deleteRanges[j]!;
      const resumed = resume?.phase === 'deleteRanges' && j === resume.item;
      // Recorded under the range's start key, whether or not the range held anything (a resumed
      // range recorded it before its first chunk).
      if (!resumed) this.notifications?.rangeDeleted(r.startInclusive, r.endExclusive);
      await this.deleteRange(ranges[j], resumed ? resume.cursor : undefined);
      deleteRanges.push({ status: Status.OK });
    }
    return { puts, deletes, deleteRanges };
  }

  private async put(p: PutRequest): Promise<PutResponse> {
    let key = p.key;
    let existing: RecordHeader | undefined;
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
      existing = await readRecordHeader(this.view, encodedKey);
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
    const existing = await readRecordHeader(this.view, encoded);
    if (!versionMatches(existing, d.expectedVersionId)) return { status: Status.UNEXPECTED_VERSION_ID };
    if (!existing) return { status: Status.KEY_NOT_FOUND };
    await this.removeRecord(d.key, encoded, existing, true);
    return { status: Status.OK };
  }

  /**
   * The encoded bounds of a delete range, [start, end) in the namespace's order (an empty
   * end: up to the last user key), or undefined when it holds nothing.
   */
  private rangeBounds(r: DeleteRangeRequest): ScanBounds | undefined {
    const gte = this.encoder.encode(r.startInclusive);
    const lt = r.endExclusive === '' ? INTERNAL_REGION_START : this.encoder.encode(r.endExclusive);
    return compareBytes(gte, lt) < 0 ? { gte, lt } : undefined;
  }

  /** Removes the records this entry staged (not yet in the store) inside the given ranges. */
  private async removeStaged(ranges: ReadonlyArray<ScanBounds | undefined>): Promise<void> {
    for (const range of ranges) {
      if (range === undefined) continue;
      for (const encoded of this.stagedPutKeys(range)) {
        const key = this.encoder.decode(encoded);
        if (isReservedKey(key)) continue;
        const record = await readRecord(this.view, encoded);
        if (record) await this.removeRecord(key, encoded, record, false);
      }
    }
  }

  /**
   * Deletes the records of one delete range (bounds from rangeBounds) with their index
   * entries and shadows. The shard's own internal keys are never touched, and the range
   * produces one KEY_RANGE_DELETED notification (recorded by the caller) instead of one
   * per key. The range is read a page at a time; once the entry has staged enough, what
   * it staged goes to the store as a chunk and the scan continues after the last key.
   */
  private async deleteRange(range: ScanBounds | undefined, resumeAfter: Uint8Array | undefined): Promise<void> {
    if (range === undefined) return;
    let from = resumeAfter === undefined ? range.gte : keyAfter(resumeAfter);
    for (;;) {
      const page = await readPage(this.view, from, range.lt, this.chunks.pageEntries);
      for (const e of page) {
        const key = this.encoder.decode(e.key);
        if (isReservedKey(key)) continue;
        await this.removeRecord(key, e.key, readStoredRecord(key, e.value), false);
      }
      if (page.length < this.chunks.pageEntries) return;
      const last = page[page.length - 1]!.key;
      await this.chunks.cutIfFull(this, { phase: this.phase, item: this.item, cursor: last });
      from = keyAfter(last);
    }
  }

  private async removeRecord(key: string, encoded: Uint8Array, record: RecordHeader, notify: boolean): Promise<void> {
    if (record.sessionId !== undefined) this.view.del(INTERNAL_ENCODER.encode(shadowKey(record.sessionId, key)));
    // Only the shard writes session records, never as ephemeral records or through a delete
    // range (reserved keys are skipped): a session ends here only from a delete of its record.
    const endedSession = parseSessionKey(key);
    if (endedSession !== undefined) await this.removeEphemeralRecords(endedSession);
    for (const k of indexEntryKeys(this.encoder, key, record.secondaryIndexes)) this.view.del(k);
    this.view.del(encoded);
    if (notify) this.notifications?.deleted(key);
  }

  /**
   * The session's record is going: delete the records it still owns, found through its
   * shadows. Shadows this entry staged go first (as in removeStaged); then the shadows in
   * the store a page at a time, cut into chunks like a delete range.
   */
  private async removeEphemeralRecords(sessionId: bigint): Promise<void> {
    const prefix = sessionKey(sessionId) + '/';
    const range = internalChildrenRange(prefix);
    const resumeAfter = this.resumeCursor;
    this.resumeCursor = undefined;
    for (const shadow of this.stagedPutKeys(range)) await this.removeShadowed(sessionId, prefix, shadow);
    let from = resumeAfter === undefined ? range.gte : keyAfter(resumeAfter);
    for (;;) {
      const page = await readPage(this.view, from, range.lt, this.chunks.pageEntries);
      for (const e of page) await this.removeShadowed(sessionId, prefix, e.key);
      if (page.length < this.chunks.pageEntries) break;
      const last = page[page.length - 1]!.key;
      await this.chunks.cutIfFull(this, { phase: this.phase, item: this.item, cursor: last });
      from = keyAfter(last);
    }
    if (!this.sessionsRemoved.includes(sessionId)) this.sessionsRemoved.push(sessionId);
    this.sessionsCreated.delete(sessionId);
  }

  /** One shadow of an ending session: the shadow goes, and its record if the session still owns it. */
  private async removeShadowed(sessionId: bigint, prefix: string, shadow: Uint8Array): Promise<void> {
    this.view.del(shadow);
    const key = parseShadowKey(INTERNAL_ENCODER.decode(shadow), prefix);
    if (key === undefined || key === '') return;
    const encoded = this.encoder.encode(key);
    const record = await readRecord(this.view, encoded);
    // A shadow is removed whenever its record changes owner, so this check only
    // guards against a stale shadow.
    if (record && record.sessionId === sessionId) await this.removeRecord(key, encoded, record, true);
  }

  /** Keys with a put staged by this entry (this request, and earlier ones of the entry) in the range. */
  private stagedPutKeys(range: ScanBounds): Uint8Array[] {
    const own = this.view.pendingPutKeys(range);
    const entryView = this.chunks.entryView;
    return entryView === this.view ? own : entryView.pendingPutKeys(range).concat(own);
  }
}

interface ScanBounds {
  readonly gte: Uint8Array;
  readonly lt: Uint8Array;
}

/** The smallest key after `key` in byte order. */
function keyAfter(key: Uint8Array): Uint8Array {
  return concatBytes(key, ZERO_BYTE);
}
const ZERO_BYTE = Uint8Array.of(0);

/** Up to `limit` entries of [gte, lt), read before any of them is acted on. */
async function readPage(view: KvReadView, gte: Uint8Array, lt: Uint8Array, limit: number): Promise<KvEntry[]> {
  const page: KvEntry[] = [];
  for await (const e of view.range({ gte, lt, limit })) page.push(e);
  return page;
}

function readStoredRecord(key: string, value: Uint8Array): StorageEntry {
  try {
    return StorageEntry.decode(value);
  } catch (e) {
    throw new Error(`corrupt record ${JSON.stringify(key)}: ${String(e)}`);
  }
}
