import { pathEscape, pathUnescape } from './path-escape.js';

/**
 * The names of the internal keys a shard keeps next to user records (ADR 0006). They
 * all start with "__oxia/", the prefix Oxia reserves, and use Oxia's own key shapes so
 * that a shard's content reads the same in both systems.
 */
export const INTERNAL_KEY_PREFIX = '__oxia/';

export const COMMIT_OFFSET_KEY = '__oxia/commit-offset';
export const LAST_VERSION_ID_KEY = '__oxia/last-version-id';
export const CHECKSUM_KEY = '__oxia/checksum';
export const TERM_KEY = '__oxia/term';
export const TERM_OPTIONS_KEY = '__oxia/term-options';
export const FEATURES_PREFIX = '__oxia/features/';
export const NOTIFICATIONS_PREFIX = '__oxia/notifications/';
export const SESSIONS_PREFIX = '__oxia/session/';
export const INDEX_PREFIX = '__oxia/idx/';
/**
 * Not Oxia's: the progress of an entry whose apply reached the store in several writes
 * (a large delete range or session end), and below it the notifications that entry
 * collected so far (src/domain/database/apply-progress.ts).
 */
export const APPLY_PROGRESS_KEY = '__oxia/apply-progress';
export const APPLY_NOTES_PREFIX = APPLY_PROGRESS_KEY + '/';
/**
 * Not Oxia's: the replica's integrity checkpoint (ADR 0031), written with every applied
 * batch: the last applied entry's CRC chain value and the digest of the store's records.
 */
export const INTEGRITY_KEY = '__oxia/integrity';
/** Separates the secondary key from the escaped primary key in an index entry. */
export const INDEX_SEPARATOR = '\x01';

const RESERVED_EXACT = new Set([COMMIT_OFFSET_KEY, LAST_VERSION_ID_KEY, CHECKSUM_KEY, TERM_KEY, TERM_OPTIONS_KEY, APPLY_PROGRESS_KEY, INTEGRITY_KEY]);
const RESERVED_PREFIXES = [FEATURES_PREFIX, NOTIFICATIONS_PREFIX, SESSIONS_PREFIX, INDEX_PREFIX, APPLY_NOTES_PREFIX];

export function isInternalKey(key: string): boolean {
  return key.startsWith(INTERNAL_KEY_PREFIX);
}

/**
 * Internal keys this implementation maintains itself. Clients may write other
 * "__oxia/..." keys (Oxia allows it), but never these: a forged session record or
 * commit offset would corrupt the shard. Delete ranges skip them for the same reason.
 */
export function isReservedKey(key: string): boolean {
  if (!key.startsWith(INTERNAL_KEY_PREFIX)) return false;
  if (RESERVED_EXACT.has(key)) return true;
  for (const p of RESERVED_PREFIXES) if (key.startsWith(p)) return true;
  return false;
}

/** Zero-padded lowercase hex of a 64-bit signed id, as Go's "%016x". */
function hex16(id: bigint): string {
  return id < 0n ? '-' + (-id).toString(16).padStart(15, '0') : id.toString(16).padStart(16, '0');
}

// ---- sessions ---------------------------------------------------------------------

/** The record that registers a session: "__oxia/session/<id as %016x>". Its value is a SessionMetadata. */
export function sessionKey(sessionId: bigint): string {
  return SESSIONS_PREFIX + hex16(sessionId);
}

const SESSION_KEY_LENGTH = SESSIONS_PREFIX.length + 16;
const SESSION_ID_PATTERN = /^[0-9a-f]{16}$/;

/** The session id when `key` is a session record (not a shadow), else undefined. */
export function parseSessionKey(key: string): bigint | undefined {
  if (key.length !== SESSION_KEY_LENGTH || !key.startsWith(SESSIONS_PREFIX)) return undefined;
  const hex = key.slice(SESSIONS_PREFIX.length);
  if (!SESSION_ID_PATTERN.test(hex)) return undefined;
  return BigInt.asIntN(64, BigInt('0x' + hex));
}

/**
 * The shadow of an ephemeral record: "__oxia/session/<id>/<escaped key>", empty value.
 * Shadows are the session's index of the records it owns, one level below its record.
 */
export function shadowKey(sessionId: bigint, key: string): string {
  return sessionKey(sessionId) + '/' + pathEscape(key);
}

/** The user key a shadow stands for, given the session's key prefix ("<session key>/"). */
export function parseShadowKey(shadow: string, sessionKeyWithSlash: string): string | undefined {
  if (!shadow.startsWith(sessionKeyWithSlash)) return undefined;
  return pathUnescape(shadow.slice(sessionKeyWithSlash.length));
}

// ---- secondary indexes --------------------------------------------------------------

/** "__oxia/idx/<index>/" : every entry of one index starts with this. */
export function indexPrefix(indexName: string): string {
  return INDEX_PREFIX + indexName + '/';
}

/** "__oxia/idx/<index>/<secondary key>\x01<escaped primary key>", empty value. */
export function indexEntryKey(indexName: string, secondaryKey: string, primaryKey: string): string {
  return indexPrefix(indexName) + secondaryKey + INDEX_SEPARATOR + pathEscape(primaryKey);
}

export interface ParsedIndexEntry {
  readonly indexName: string;
  readonly secondaryKey: string;
  readonly primaryKey: string;
}

/**
 * Splits an index entry key. The secondary key may itself contain the separator, but
 * the escaped primary key never does, so the last separator is the boundary.
 */
export function parseIndexEntryKey(key: string): ParsedIndexEntry | undefined {
  if (!key.startsWith(INDEX_PREFIX)) return undefined;
  const nameEnd = key.indexOf('/', INDEX_PREFIX.length);
  if (nameEnd < 0) return undefined;
  const sep = key.lastIndexOf(INDEX_SEPARATOR);
  if (sep <= nameEnd) return undefined;
  const primaryKey = pathUnescape(key.slice(sep + 1));
  if (primaryKey === undefined) return undefined;
  return { indexName: key.slice(INDEX_PREFIX.length, nameEnd), secondaryKey: key.slice(nameEnd + 1, sep), primaryKey };
}

// ---- notifications and features ------------------------------------------------------

/** "__oxia/notifications/<offset as %016x>": the notification batch of one entry. */
export function notificationKey(offset: bigint): string {
  return NOTIFICATIONS_PREFIX + hex16(offset);
}

export function parseNotificationKey(key: string): bigint | undefined {
  if (!key.startsWith(NOTIFICATIONS_PREFIX)) return undefined;
  const hex = key.slice(NOTIFICATIONS_PREFIX.length);
  if (!SESSION_ID_PATTERN.test(hex)) return undefined;
  return BigInt('0x' + hex);
}

/** "__oxia/apply-progress/<seq as %016x>": the seq-th batch of notifications an entry being applied set aside. */
export function applyNotesKey(seq: number): string {
  return APPLY_NOTES_PREFIX + hex16(BigInt(seq));
}

/** "__oxia/features/<feature as %010d>": present once a feature was enabled through the log. */
export function featureKey(feature: number): string {
  return FEATURES_PREFIX + String(feature).padStart(10, '0');
}
