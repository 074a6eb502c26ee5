import type { KvEntry, KvOp, KvRange, KvReadView } from './kv-view.js';
import { SortedByteMap } from './sorted-byte-map.js';

/**
 * An in-memory ordered key-value map with the store's read contract: the state
 * machine's view in tests, and a base for an in-memory store.
 */
export class MemoryKv implements KvReadView {
  private readonly map = new SortedByteMap<Uint8Array>();

  get size(): number {
    return this.map.size;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.map.get(key);
  }

  readonly getNow = (key: Uint8Array): Uint8Array | undefined => this.map.get(key);

  async *range(range: KvRange): AsyncIterable<KvEntry> {
    let left = range.limit ?? Infinity;
    if (left <= 0) return;
    for (const [key, value] of this.map.entries(range)) {
      yield { key, value };
      if (--left <= 0) return;
    }
  }

  /** Applies ops in order (a later op on the same key wins). Keys and values are copied. */
  write(ops: readonly KvOp[]): void {
    for (const op of ops) {
      if (op.type === 'put') this.map.set(op.key.slice(), op.value.slice());
      else this.map.delete(op.key);
    }
  }

  /** Put ops that rebuild this map elsewhere (keys and values are copied by write()). */
  snapshotOps(): KvOp[] {
    const ops: KvOp[] = [];
    for (const [key, value] of this.map.entries()) ops.push({ type: 'put', key, value });
    return ops;
  }

  clear(): void {
    this.map.clear();
  }
}
