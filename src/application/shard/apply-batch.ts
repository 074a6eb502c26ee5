import type { AppliedEntry, DatabaseConfig } from '../../domain/database/api.js';
import { applyEntry, NOT_RECALLED, OverlayView, readApplyProgress, RememberingView } from '../../domain/database/index.js';
import type { KvOp } from '../../domain/database/kv-view.js';
import {
  CHAIN_START_CRC,
  digestAfter,
  integrityOp,
  type IntegrityRecord,
  nextChainCrc,
  readerOf,
  readIntegrity,
  scanDigest,
  type ValueReader,
} from '../../domain/integrity/index.js';
import type { LogEntry } from '../../domain/wal/log-entry.js';
import type { LogEntryValue } from '../../domain/wire/storage.js';
import type { KvStore } from '../ports/kv-store.js';

/** A committed entry with its decoded value, ready for the state machine. */
export interface DecodedEntry {
  readonly entry: LogEntry;
  readonly value: LogEntryValue;
}

/** What a replica adds to the integrity records its applies write (ADR 0031). */
export interface ApplyIntegrity {
  /** Hears the integrity record after each entry applied whole; may throw to abort the batch. */
  readonly onRecord?: (record: IntegrityRecord) => void;
  /** The replica's chain value at an offset, for a store that does not know it (see LogChain). */
  readonly chainCrcAt?: (offset: bigint) => number | undefined;
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
 *
 * Every store write also carries the integrity record (ADR 0031): the CRC chain value of the
 * last entry applied whole, computed here from the entries' own bytes, and the digest of the
 * counted records, updated by each op (one read of the value it replaces).
 */
export async function applyBatch(
  kv: KvStore,
  config: DatabaseConfig,
  entries: readonly DecodedEntry[],
  chunkKeys?: number,
  replica: ApplyIntegrity = {},
): Promise<AppliedEntry[]> {
  if (entries.length === 0) return [];
  // The state machine's reads of the store, remembered for the digest (below).
  const store = new RememberingView(kv);
  const overlay = new OverlayView(store);
  let integrity = await startingIntegrity(kv, entries[0]!.entry.offset);
  // Values before an op: the overlay's pending ones, else the store's: as the state machine
  // read it just before (by the same key object), or read now (synchronously when it can).
  const stored = readerOf(kv);
  const before: ValueReader = (key) => {
    const pending = overlay.pendingValue(key);
    if (pending !== undefined) return pending ?? undefined;
    const recalled = store.recalled(key);
    return recalled === NOT_RECALLED ? stored(key) : recalled;
  };
  if (integrity.crc === undefined) integrity = { ...integrity, crc: replica.chainCrcAt?.(integrity.offset) };
  const spill = async (ops: KvOp[]): Promise<void> => {
    // The chain stays at the last whole entry; the digest covers the store as written.
    integrity = { ...integrity, digest: await digestAfter(integrity.digest, before, ops) };
    await kv.write(overlay.pendingOps().concat(ops, integrityOp(integrity, 0n)));
    overlay.clear();
    store.forget();
    // better-sqlite3 writes synchronously: let reads, acks and timers in between chunks.
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
  let resume = await readApplyProgress(kv);
  const first = entries[0]!.entry.offset;
  if (resume !== undefined && resume.offset !== first) {
    throw new Error(`the store holds the progress of entry ${resume.offset}, but the next entry to apply is ${first}`);
  }
  const results: AppliedEntry[] = [];
  // The last entry's ops, when the overlay held nothing else: written as they are.
  let lastOps: KvOp[] | undefined;
  for (let i = 0; i < entries.length; i++) {
    const { entry, value } = entries[i]!;
    const applied = await applyEntry(
      overlay,
      { offset: entry.offset, term: entry.term, timestampMs: entry.timestamp, value },
      config,
      { spill, resume, chunkKeys },
    );
    resume = undefined;
    integrity = {
      offset: entry.offset,
      crc: integrity.crc === undefined ? undefined : nextChainCrc(integrity.crc, entry),
      digest: await digestAfter(integrity.digest, before, applied.ops),
    };
    // A batch of one entry (or the rest of one after a chunk) need not be staged in the overlay
    // to be written: its ops are one per key already (an overlay's pendingOps).
    if (i === entries.length - 1 && overlay.pendingCount === 0) lastOps = applied.ops;
    else overlay.write(applied.ops);
    replica.onRecord?.(integrity);
    results.push(applied);
  }
  // The integrity record last: it wins over any op on its key, as in the overlay.
  if (lastOps !== undefined) await kv.write(lastOps.concat(integrityOp(integrity, 0n)));
  else {
    overlay.write([integrityOp(integrity, 0n)]);
    await kv.write(overlay.pendingOps());
  }
  return results;
}

/**
 * The integrity record the store holds before `first` is applied. A store without one is
 * new (the chain starts at offset 0) or older than the record, or a split's child: its
 * digest is computed once by a scan, and its chain is unknown until a snapshot brings one.
 */
async function startingIntegrity(kv: KvStore, first: bigint): Promise<IntegrityRecord> {
  const stored = await readIntegrity(kv);
  if (stored) {
    // Applied up to another offset than the one before `first`: the chain value is not this one's.
    return stored.offset === first - 1n ? stored : { ...stored, crc: undefined };
  }
  return { offset: first - 1n, crc: first === 0n ? CHAIN_START_CRC : undefined, digest: await scanDigest(kv) };
}
