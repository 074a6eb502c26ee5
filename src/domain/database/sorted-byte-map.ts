import { compareBytes } from '../keys/bytes.js';

/** Entries per chunk: small enough that a splice is cheap, large enough to keep the chunk index short. */
const CHUNK_ENTRIES_MAX = 512;

interface Chunk<V> {
  keys: Uint8Array[];
  values: V[];
}

export interface ByteRange {
  readonly gte?: Uint8Array | undefined;
  readonly lt?: Uint8Array | undefined;
  readonly reverse?: boolean | undefined;
}

/**
 * An ordered map from byte strings (memcmp order) to values: sorted chunks of bounded
 * size, so inserts, deletes and seeks cost O(log n + chunk size) and bulk loads stay
 * far from quadratic. Iteration tolerates writes made while it is suspended: it
 * re-seeks after the last key it returned whenever the map changed.
 */
export class SortedByteMap<V> {
  private chunks: Chunk<V>[] = [];
  private count = 0;
  private version = 0;

  get size(): number {
    return this.count;
  }

  get(key: Uint8Array): V | undefined {
    const c = this.chunkFor(key);
    if (c < 0) return undefined;
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk.keys, key);
    return i < chunk.keys.length && compareBytes(chunk.keys[i]!, key) === 0 ? chunk.values[i] : undefined;
  }

  has(key: Uint8Array): boolean {
    const c = this.chunkFor(key);
    if (c < 0) return false;
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk.keys, key);
    return i < chunk.keys.length && compareBytes(chunk.keys[i]!, key) === 0;
  }

  /** Sets the key's value; returns the value it replaced (undefined when the key was absent). */
  set(key: Uint8Array, value: V): V | undefined {
    this.version++;
    if (this.chunks.length === 0) {
      this.chunks.push({ keys: [key], values: [value] });
      this.count = 1;
      return undefined;
    }
    let c = this.chunkFor(key);
    // Past the last chunk's last key: append to the last chunk.
    if (c < 0) c = this.chunks.length - 1;
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk.keys, key);
    if (i < chunk.keys.length && compareBytes(chunk.keys[i]!, key) === 0) {
      const previous = chunk.values[i];
      chunk.values[i] = value;
      return previous;
    }
    chunk.keys.splice(i, 0, key);
    chunk.values.splice(i, 0, value);
    this.count++;
    if (chunk.keys.length > CHUNK_ENTRIES_MAX) {
      const half = chunk.keys.length >> 1;
      const right: Chunk<V> = { keys: chunk.keys.splice(half), values: chunk.values.splice(half) };
      this.chunks.splice(c + 1, 0, right);
    }
    return undefined;
  }

  delete(key: Uint8Array): boolean {
    const c = this.chunkFor(key);
    if (c < 0) return false;
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk.keys, key);
    if (i >= chunk.keys.length || compareBytes(chunk.keys[i]!, key) !== 0) return false;
    this.version++;
    chunk.keys.splice(i, 1);
    chunk.values.splice(i, 1);
    this.count--;
    if (chunk.keys.length === 0) this.chunks.splice(c, 1);
    return true;
  }

  clear(): void {
    this.version++;
    this.chunks = [];
    this.count = 0;
  }

  /** Entries in [gte, lt), ascending or descending. */
  *entries(range: ByteRange = {}): Generator<[Uint8Array, V]> {
    if (range.reverse) {
      yield* this.descending(range.gte, range.lt);
    } else {
      yield* this.ascending(range.gte, range.lt);
    }
  }

  private *ascending(gte: Uint8Array | undefined, lt: Uint8Array | undefined): Generator<[Uint8Array, V]> {
    let pos = this.seekGe(gte, false);
    let seen = this.version;
    while (pos) {
      const chunk = this.chunks[pos.c]!;
      const key = chunk.keys[pos.i]!;
      if (lt && compareBytes(key, lt) >= 0) return;
      yield [key, chunk.values[pos.i]!];
      if (seen !== this.version) {
        // The map changed while we were suspended: find our place again.
        seen = this.version;
        pos = this.seekGe(key, true);
      } else {
        pos = this.next(pos);
      }
    }
  }

  private *descending(gte: Uint8Array | undefined, lt: Uint8Array | undefined): Generator<[Uint8Array, V]> {
    let pos = this.seekLt(lt);
    let seen = this.version;
    while (pos) {
      const chunk = this.chunks[pos.c]!;
      const key = chunk.keys[pos.i]!;
      if (gte && compareBytes(key, gte) < 0) return;
      yield [key, chunk.values[pos.i]!];
      if (seen !== this.version) {
        seen = this.version;
        pos = this.seekLt(key);
      } else {
        pos = this.prev(pos);
      }
    }
  }

  /** Index of the first chunk whose last key is >= key, or -1. */
  private chunkFor(key: Uint8Array): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const keys = this.chunks[mid]!.keys;
      if (compareBytes(keys[keys.length - 1]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.chunks.length ? lo : -1;
  }

  /** First position with key >= bound (or > bound when `exclusive`). */
  private seekGe(bound: Uint8Array | undefined, exclusive: boolean): Pos | undefined {
    if (this.chunks.length === 0) return undefined;
    if (!bound) return { c: 0, i: 0 };
    const c = this.chunkFor(bound);
    if (c < 0) return undefined;
    const keys = this.chunks[c]!.keys;
    let i = lowerBound(keys, bound);
    if (exclusive && i < keys.length && compareBytes(keys[i]!, bound) === 0) i++;
    return i < keys.length ? { c, i } : this.next({ c, i: keys.length - 1 });
  }

  /** Last position with key < bound (the last entry when no bound). */
  private seekLt(bound: Uint8Array | undefined): Pos | undefined {
    const n = this.chunks.length;
    if (n === 0) return undefined;
    if (!bound) return { c: n - 1, i: this.chunks[n - 1]!.keys.length - 1 };
    let c = this.chunkFor(bound);
    if (c < 0) c = n - 1;
    const i = lowerBound(this.chunks[c]!.keys, bound) - 1;
    if (i >= 0) return { c, i };
    return c > 0 ? { c: c - 1, i: this.chunks[c - 1]!.keys.length - 1 } : undefined;
  }

  private next(p: Pos): Pos | undefined {
    if (p.i + 1 < this.chunks[p.c]!.keys.length) return { c: p.c, i: p.i + 1 };
    return p.c + 1 < this.chunks.length ? { c: p.c + 1, i: 0 } : undefined;
  }

  private prev(p: Pos): Pos | undefined {
    if (p.i > 0) return { c: p.c, i: p.i - 1 };
    return p.c > 0 ? { c: p.c - 1, i: this.chunks[p.c - 1]!.keys.length - 1 } : undefined;
  }
}

interface Pos {
  c: number;
  i: number;
}

function lowerBound(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareBytes(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
