/**
 * The node's cache of point-read results, shared by every open store and bounded in bytes
 * (Oxia's `--db-cache-size-mb`, default 100). Entries not read for a while go first.
 *
 * Why a cache above the stores when SQLite and LevelDB cache pages and blocks themselves:
 * a point read through better-sqlite3 costs 1.5-4 us of CPU (statement, B-tree walk, copy
 * out), and every applied put reads its record first, on every replica. A Map lookup costs a
 * tenth of that, and a metadata store's working set (the records clients read and write
 * often) is small.
 */
export class KvReadCache {
  /**
   * Insertion order is the eviction queue (second chance, as the CLOCK algorithm): a hit only
   * marks its entry, and an entry marked since it was queued goes back to the end instead of
   * leaving. Hits, by far the most frequent operation, so never reorder the Map.
   */
  private readonly entries = new Map<string, CacheEntry>();
  private bytes = 0;
  /** Lookups that found, and did not find, their key: plain counts, read by the metrics at scrape time. */
  private hitCount = 0;
  private missCount = 0;

  private limitBytes: number;

  constructor(maxBytes: number) {
    checkSize(maxBytes);
    this.limitBytes = maxBytes;
  }

  get maxBytes(): number {
    return this.limitBytes;
  }

  /** A new bound (live configuration); shrinking evicts down to it at once. */
  resize(maxBytes: number): void {
    checkSize(maxBytes);
    this.limitBytes = maxBytes;
    while (this.bytes > this.limitBytes) this.evictOne();
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get entryCount(): number {
    return this.entries.size;
  }

  get hits(): number {
    return this.hitCount;
  }

  get misses(): number {
    return this.missCount;
  }

  get(key: string): Uint8Array | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.missCount++;
      return undefined;
    }
    this.hitCount++;
    entry.used = true;
    return entry.value;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  set(key: string, value: Uint8Array): void {
    this.delete(key);
    const cost = entryCost(key, value);
    if (cost > this.limitBytes) return;
    this.entries.set(key, { value, used: false });
    this.bytes += cost;
    while (this.bytes > this.limitBytes) this.evictOne();
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    this.bytes -= entryCost(key, old.value);
  }

  /** Drops every entry whose key starts with `prefix` (a closed store's). */
  deletePrefix(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.delete(key);
  }

  /** Evicts the oldest entry not used since it was queued; used ones get a second round. */
  private evictOne(): void {
    for (const [key, entry] of this.entries) {
      this.entries.delete(key);
      if (entry.used && this.entries.size > 0) {
        entry.used = false;
        this.entries.set(key, entry);
        continue;
      }
      this.bytes -= entryCost(key, entry.value);
      return;
    }
  }
}

interface CacheEntry {
  readonly value: Uint8Array;
  used: boolean;
}

/**
 * What an entry costs the process besides its key and value bytes, measured (resident set
 * growth per entry over 300,000-500,000 entries of 16 B to 1 KiB values read from SQLite, as
 * the stores hand them out): about 320 B of V8 heap (the Map slot, the entry object, the
 * key string's header, the Uint8Array and its ArrayBuffer) and about 220 B of native memory
 * (each value is its own malloc'd backing store with V8's bookkeeping around it). An
 * estimate of 96 B made a 100 MiB cache hold about 300 MiB.
 */
export const READ_CACHE_ENTRY_OVERHEAD_BYTES = 560;

/** Approximate resident bytes of an entry: the key string, the value and the objects around them. */
function entryCost(key: string, value: Uint8Array): number {
  return key.length + value.byteLength + READ_CACHE_ENTRY_OVERHEAD_BYTES;
}

function checkSize(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new Error(`cache size must be a non-negative integer, got ${maxBytes}`);
}
