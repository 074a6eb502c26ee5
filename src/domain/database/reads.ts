import { invalidArgument } from '../errors/oxia-error.js';
import { bytesEqual, minBytes } from '../keys/bytes.js';
import {
  INTERNAL_REGION_START,
  type KeyEncoder,
  indexEntriesRange,
  isInternalEncoded,
  keyEncoder,
} from '../keys/key-encoder.js';
import {
  INDEX_PREFIX,
  NOTIFICATIONS_PREFIX,
  indexPrefix,
  isInternalKey,
  isReservedKey,
  parseIndexEntryKey,
} from '../keys/internal-keys.js';
import { type GetRequest, type GetResponse, KeyComparisonType, Status, type Version } from '../wire/client.js';
import { StorageEntry } from '../wire/storage.js';
import type { DatabaseConfig, KeyRangeQuery } from './api.js';
import type { KvEntry, KvRange, KvReadView } from './kv-view.js';
import { readRecord, readRecordFields, versionOf } from './records.js';
import { isUsableIndexName } from './secondary-index.js';
import { highestSequenceKeyWith } from './sequences.js';

/**
 * Reads of a shard's applied state, with Oxia's semantics. Gets never return the
 * shard's own internal records; List and RangeScan show internal keys only when asked.
 */

function notFound(): GetResponse {
  return { status: Status.KEY_NOT_FOUND };
}

function found(record: StorageEntry, includeValue: boolean, key?: string, secondaryKey?: string): GetResponse {
  // Built field by field rather than with spreads: this runs for every read.
  const response: GetResponse = { status: Status.OK, version: versionOf(record) };
  if (includeValue) response.value = record.value;
  if (key !== undefined) response.key = key;
  if (secondaryKey !== undefined) response.secondaryIndexKey = secondaryKey;
  return response;
}

async function first(view: KvReadView, range: KvRange): Promise<KvEntry | undefined> {
  for await (const e of view.range({ ...range, limit: range.limit ?? 1 })) return e;
  return undefined;
}

/**
 * get() without waiting, for the common read (EQUAL, no index) on a view that reads
 * synchronously (KvReadView.getNow); undefined when get() must be used.
 */
export function getNow(view: KvReadView, request: GetRequest, config: DatabaseConfig): GetResponse | undefined {
  if (view.getNow === undefined || request.comparisonType !== KeyComparisonType.EQUAL || request.secondaryIndexName !== undefined) return undefined;
  if (isReservedKey(request.key)) return notFound();
  return pointResponse(view.getNow(keyEncoder(config.keySorting).encode(request.key)), request.includeValue);
}

/** The answer to an EQUAL get from the stored bytes of its key. */
function pointResponse(bytes: Uint8Array | undefined, includeValue: boolean): GetResponse {
  if (bytes === undefined) return notFound();
  let answer = pointAnswers.get(bytes);
  if (answer === undefined) {
    answer = decodePointAnswer(bytes);
    pointAnswers.set(bytes, answer);
  }
  const response: GetResponse = { status: Status.OK, version: answer.version };
  if (includeValue) response.value = answer.value;
  return response;
}

/** What a get answers from a stored record: its version, and its value as a view of the stored bytes. */
interface PointAnswer {
  readonly version: Version;
  readonly value: Buffer;
}

/**
 * Point answers by the stored bytes they were decoded from. The node's read cache hands out
 * the same bytes object for a key until the key is written again (stored bytes are never
 * changed in place), so a hot key's record is decoded once instead of on every get (it was 9%
 * of a node's CPU under gets). A WeakMap: an answer lives exactly as long as its bytes, and
 * costs the Version object beside them (the value is a view, not a copy).
 */
const pointAnswers = new WeakMap<Uint8Array, PointAnswer>();

/** The fields of a stored record (StorageEntry) that a get returns, as StorageEntry.decode reads them. */
export function decodePointAnswer(bytes: Uint8Array): PointAnswer {
  let value: Buffer = EMPTY;
  const version: Version = { versionId: 0n, modificationsCount: 0n, createdTimestamp: 0n, modifiedTimestamp: 0n };
  readRecordFields(bytes, (tag, reader) => {
    switch (tag) {
      case 10: // 1: value
        value = bufferView(reader.bytes());
        return true;
      case 16: // 2: version_id
        version.versionId = reader.int64() as bigint;
        return true;
      case 24: // 3: modifications_count
        version.modificationsCount = reader.int64() as bigint;
        return true;
      case 33: // 4: creation_timestamp
        version.createdTimestamp = reader.fixed64() as bigint;
        return true;
      case 41: // 5: modification_timestamp
        version.modifiedTimestamp = reader.fixed64() as bigint;
        return true;
      case 48: // 6: session_id
        version.sessionId = reader.int64() as bigint;
        return true;
      case 58: // 7: client_identity
        version.clientIdentity = reader.string();
        return true;
    }
    return false;
  });
  return { version, value };
}

const EMPTY = Buffer.alloc(0);

function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A point read: EQUAL, or the nearest user key by FLOOR / CEILING / LOWER / HIGHER (which report the key found). */
export async function get(view: KvReadView, request: GetRequest, config: DatabaseConfig): Promise<GetResponse> {
  const encoder = keyEncoder(config.keySorting);
  if (request.secondaryIndexName !== undefined) return indexGet(view, request, request.secondaryIndexName, encoder);
  const { key, includeValue } = request;
  const encoded = encoder.encode(key);
  const userEnd = INTERNAL_REGION_START;
  let hit: KvEntry | undefined;
  switch (request.comparisonType) {
    case KeyComparisonType.EQUAL: {
      if (isReservedKey(key)) return notFound();
      return pointResponse(await view.get(encoded), includeValue);
    }
    case KeyComparisonType.FLOOR:
      if (!isInternalKey(key)) {
        const value = await view.get(encoded);
        if (value !== undefined) return found(StorageEntry.decode(value), includeValue, key);
      }
      hit = await first(view, { lt: minBytes(encoded, userEnd), reverse: true });
      break;
    case KeyComparisonType.LOWER:
      hit = await first(view, { lt: minBytes(encoded, userEnd), reverse: true });
      break;
    case KeyComparisonType.CEILING:
      hit = await first(view, { gte: encoded, lt: userEnd });
      break;
    case KeyComparisonType.HIGHER:
      for await (const e of view.range({ gte: encoded, lt: userEnd, limit: 2 })) {
        if (bytesEqual(e.key, encoded)) continue;
        hit = e;
        break;
      }
      break;
    default:
      throw invalidArgument(`unknown key comparison type ${String(request.comparisonType)}`);
  }
  if (!hit) return notFound();
  return found(StorageEntry.decode(hit.value), includeValue, encoder.decode(hit.key));
}

/**
 * A get through a secondary index: the comparison applies to secondary keys (in the
 * namespace's order); the answer is the primary record, with its key and the
 * secondary key that matched. Among records sharing a secondary key, EQUAL, FLOOR
 * and CEILING pick the lowest primary key, LOWER the highest (as Oxia does).
 */
async function indexGet(view: KvReadView, request: GetRequest, indexName: string, encoder: KeyEncoder): Promise<GetResponse> {
  if (!isUsableIndexName(indexName)) return notFound();
  const region = indexEntriesRange(indexName);
  const search = encoder.encode(indexPrefix(indexName) + request.key);
  const below = async () => first(view, { gte: region.gte, lt: search, reverse: true });
  let hit: KvEntry | undefined;
  switch (request.comparisonType) {
    case KeyComparisonType.EQUAL:
    case KeyComparisonType.CEILING:
    case KeyComparisonType.FLOOR: {
      hit = await first(view, { gte: search, lt: region.lt });
      const exact = hit !== undefined && parseIndexEntryKey(encoder.decode(hit.key))?.secondaryKey === request.key;
      if (request.comparisonType === KeyComparisonType.EQUAL && !exact) hit = undefined;
      if (request.comparisonType === KeyComparisonType.FLOOR && !exact) hit = await below();
      break;
    }
    case KeyComparisonType.LOWER:
      hit = await below();
      break;
    case KeyComparisonType.HIGHER:
      hit = undefined;
      for await (const e of view.range({ gte: search, lt: region.lt })) {
        if (parseIndexEntryKey(encoder.decode(e.key))?.secondaryKey === request.key) continue;
        hit = e;
        break;
      }
      break;
    default:
      throw invalidArgument(`unknown key comparison type ${String(request.comparisonType)}`);
  }
  if (!hit) return notFound();
  const entry = parseIndexEntryKey(encoder.decode(hit.key));
  if (!entry) return notFound();
  const record = await readRecord(view, encoder.encode(entry.primaryKey));
  if (!record) return notFound();
  return found(record, request.includeValue, entry.primaryKey, entry.secondaryKey);
}

/** The encoded range a List/RangeScan covers. An empty end means "no upper bound". */
function scanRange(query: KeyRangeQuery, encoder: KeyEncoder): KvRange {
  if (query.secondaryIndexName !== undefined) {
    const prefix = indexPrefix(query.secondaryIndexName);
    const region = indexEntriesRange(query.secondaryIndexName);
    return {
      gte: encoder.encode(prefix + query.startInclusive),
      lt: query.endExclusive === '' ? region.lt : encoder.encode(prefix + query.endExclusive),
    };
  }
  const gte = encoder.encode(query.startInclusive);
  if (query.includeInternalKeys) {
    return query.endExclusive === '' ? { gte } : { gte, lt: encoder.encode(query.endExclusive) };
  }
  const lt = query.endExclusive === '' ? INTERNAL_REGION_START : minBytes(encoder.encode(query.endExclusive), INTERNAL_REGION_START);
  return { gte, lt };
}

/** Primary keys of an index's entries in the range, in index order. */
async function* indexedKeys(view: KvReadView, query: KeyRangeQuery, encoder: KeyEncoder): AsyncIterable<string> {
  if (!isUsableIndexName(query.secondaryIndexName!)) return;
  for await (const e of view.range(scanRange(query, encoder))) {
    const entry = parseIndexEntryKey(encoder.decode(e.key));
    if (entry && entry.indexName === query.secondaryIndexName) yield entry.primaryKey;
  }
}

/** Keys in [start, end) in the namespace's order (an index's primary keys, in index order, when one is named). */
export async function* list(view: KvReadView, query: KeyRangeQuery, config: DatabaseConfig): AsyncIterable<string> {
  const encoder = keyEncoder(config.keySorting);
  if (query.secondaryIndexName !== undefined) {
    yield* indexedKeys(view, query, encoder);
    return;
  }
  for await (const e of view.range(scanRange(query, encoder))) yield encoder.decode(e.key);
}

/** Records in [start, end), with key, value and version (through an index when one is named). */
export async function* rangeScan(
  view: KvReadView,
  query: KeyRangeQuery,
  config: DatabaseConfig,
): AsyncIterable<GetResponse> {
  const encoder = keyEncoder(config.keySorting);
  if (query.secondaryIndexName !== undefined) {
    for await (const key of indexedKeys(view, query, encoder)) {
      const record = await readRecord(view, encoder.encode(key));
      // An index entry always has its record in the same state; skip rather than fail if not.
      if (record) yield found(record, true, key);
    }
    return;
  }
  for await (const e of view.range(scanRange(query, encoder))) {
    const key = encoder.decode(e.key);
    yield isInternalEncoded(e.key) ? internalRecord(key, e.value) : found(StorageEntry.decode(e.value), true, key);
  }
}

/**
 * Internal keys shown by a RangeScan that asked for them. Most hold StorageEntry
 * records; notification batches and index entries do not, and come back raw with an
 * empty version, as Oxia returns them.
 */
function internalRecord(key: string, value: Uint8Array): GetResponse {
  if (!key.startsWith(NOTIFICATIONS_PREFIX) && !key.startsWith(INDEX_PREFIX)) {
    try {
      return found(StorageEntry.decode(value), true, key);
    } catch {
      // fall through: not a record
    }
  }
  return {
    status: Status.OK,
    key,
    value: Buffer.from(value),
    version: { versionId: 0n, modificationsCount: 0n, createdTimestamp: 0n, modifiedTimestamp: 0n },
  };
}

/** The highest key of the sequence under `prefix`, as GetSequenceUpdates reports it. */
export function highestSequenceKey(view: KvReadView, prefix: string, config: DatabaseConfig): Promise<string | undefined> {
  return highestSequenceKeyWith(view, keyEncoder(config.keySorting), prefix);
}
