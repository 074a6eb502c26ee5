/**
 * The node's cache of point-read results, shared by every open store and bounded in bytes
 * (Oxia's `--db-cache-size-mb`, default 100). Least recently used entries go first.
 *
 * Why a cache above the stores when SQLite and LevelDB cache pages and blocks themselves:
 * a point read through better-sqlite3 costs 1.5-4 us of CPU (statement, B-tree walk, copy
 * out), and every applied put reads its record first, on every replica. A Map lookup costs a
 * tenth of that, and a metadata store's working set (the records clients read and write
 * often) is small.
 */
export class KvReadCache {
  /** Insertion order is recency order: a hit moves its entry to the end. */
  private readonly entries = new Map<string, Uint8Array>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new Error(`cache size must be a non-negative integer, got ${maxBytes}`);
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get entryCount(): number {
    return this.entries.size;
  }

  get(key: string): Uint8Array | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  set(key: string, value: Uint8Array): void {
    this.delete(key);
    const cost = entryCost(key, value);
    if (cost > this.maxBytes) return;
    this.entries.set(key, value);
    this.bytes += cost;
    while (this.bytes > this.maxBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    this.bytes -= entryCost(key, old);
  }

  /** Drops every entry whose key starts with `prefix` (a closed store's). */
  deletePrefix(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.delete(key);
  }
}

/** Approximate heap bytes of an entry: the key string, the value and the objects around them. */
function entryCost(key: string, value: Uint8Array): number {
  return key.length + value.byteLength + 96;
}
