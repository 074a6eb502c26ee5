/**
 * One entry of a shard's write-ahead log. The value is opaque here: for data
 * entries it is an encoded LogEntryValue (see wire/storage.ts).
 * Offsets start at 0 and are dense; terms never decrease along the log.
 */
export interface LogEntry {
  readonly term: bigint;
  readonly offset: bigint;
  readonly value: Uint8Array;
  /** Leader's wall clock in milliseconds when it appended the entry. */
  readonly timestamp: bigint;
}

/** Identifies a position in the log. The head of an empty log is {term: -1, offset: -1}. */
export interface EntryId {
  readonly term: bigint;
  readonly offset: bigint;
}

export const INVALID_ENTRY_ID: EntryId = Object.freeze({ term: -1n, offset: -1n });

export function compareEntryIds(a: EntryId, b: EntryId): number {
  if (a.term !== b.term) return a.term < b.term ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}
