import type { AppliedEntry, DatabaseConfig } from '../../domain/database/api.js';
import { applyEntry, OverlayView } from '../../domain/database/index.js';
import type { LogEntry } from '../../domain/wal/log-entry.js';
import type { LogEntryValue } from '../../domain/wire/storage.js';
import type { KvStore } from '../ports/kv-store.js';

/** A committed entry with its decoded value, ready for the state machine. */
export interface DecodedEntry {
  readonly entry: LogEntry;
  readonly value: LogEntryValue;
}

/**
 * Applies consecutive committed entries through the state machine and writes all
 * their ops (each entry's include the new commit offset marker) to the store as one
 * atomic write: a crash leaves the store at a whole-batch boundary, never inside one.
 * Leaders and followers both apply this way, so replicas compute identical stores.
 */
export async function applyBatch(kv: KvStore, config: DatabaseConfig, entries: readonly DecodedEntry[]): Promise<AppliedEntry[]> {
  const overlay = new OverlayView(kv);
  const results: AppliedEntry[] = [];
  for (const { entry, value } of entries) {
    const applied = await applyEntry(
      overlay,
      { offset: entry.offset, term: entry.term, timestampMs: entry.timestamp, value },
      config,
    );
    overlay.write(applied.ops);
    results.push(applied);
  }
  await kv.write(overlay.pendingOps());
  return results;
}
