import type { AppliedEntry, DatabaseConfig } from '../../domain/database/api.js';
import { applyEntry, OverlayView, readApplyProgress } from '../../domain/database/index.js';
import type { KvOp } from '../../domain/database/kv-view.js';
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
 *
 * The exception is an entry whose delete range or session end removes many records:
 * the state machine then writes its removals in chunks as it goes (ADR 0004, amendment),
 * each chunk after the batch's earlier entries, which thereby reach the store whole.
 * A crash between chunks leaves the store at the previous entry's commit offset with the
 * entry's progress record, from which the next apply continues it. `chunkKeys`: the
 * staged keys that start a chunk, when not the state machine's default (tests).
 */
export async function applyBatch(
  kv: KvStore,
  config: DatabaseConfig,
  entries: readonly DecodedEntry[],
  chunkKeys?: number,
): Promise<AppliedEntry[]> {
  if (entries.length === 0) return [];
  const overlay = new OverlayView(kv);
  const spill = async (ops: KvOp[]): Promise<void> => {
    await kv.write(overlay.pendingOps().concat(ops));
    overlay.clear();
    // better-sqlite3 writes synchronously: let reads, acks and timers in between chunks.
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
  let resume = await readApplyProgress(kv);
  const first = entries[0]!.entry.offset;
  if (resume !== undefined && resume.offset !== first) {
    throw new Error(`the store holds the progress of entry ${resume.offset}, but the next entry to apply is ${first}`);
  }
  const results: AppliedEntry[] = [];
  for (const { entry, value } of entries) {
    const applied = await applyEntry(
      overlay,
      { offset: entry.offset, term: entry.term, timestampMs: entry.timestamp, value },
      config,
      { spill, resume, chunkKeys },
    );
    resume = undefined;
    overlay.write(applied.ops);
    results.push(applied);
  }
  await kv.write(overlay.pendingOps());
  return results;
}
