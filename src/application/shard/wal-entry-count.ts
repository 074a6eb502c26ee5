import type { Wal } from '../ports/wal.js';

/** Entries a log holds, oldest to newest: what trimming has not removed yet (Oxia's oxia_server_wal_entries). */
export function walEntryCount(wal: Pick<Wal, 'firstOffset' | 'lastEntryId'>): bigint {
  const first = wal.firstOffset();
  return first < 0n ? 0n : wal.lastEntryId().offset - first + 1n;
}
