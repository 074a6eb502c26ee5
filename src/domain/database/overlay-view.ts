import { compareBytes } from '../keys/bytes.js';
import type { KvEntry, KvOp, KvRange, KvReadView } from './kv-view.js';
import { SortedByteMap } from './sorted-byte-map.js';

/** Above this, a limited range reads the base unlimited (the store pages it anyway). */
const BASE_LIMIT_MAX = 4096;

/**
 * A read view over a base view plus writes not yet in it: reads see the pending
 * writes (deleted keys hidden, ranges merged in order). Lets several log entries be
 * applied one after the other and then written to the store as one batch, and lets
 * the state machine stage one request's writes and drop them if it fails.
 */
export class OverlayView implements KvReadView {
  /** null marks a pending delete. */
  private readonly pending = new SortedByteMap<Uint8Array | null>();
  /** Pending deletes: each can hide at most one base entry from a limited range. */
  private pendingDeletes = 0;

  /** Present when the base reads synchronously: the apply's point reads then cost no promise per overlay. */
  readonly getNow: ((key: Uint8Array) => Uint8Array | undefined) | undefined;

  constructor(private readonly base: KvReadView) {
    const baseNow = base.getNow;
    this.getNow =
      baseNow === undefined
        ? undefined
        : (key) => {
            const staged = this.pending.get(key);
            return staged === undefined ? baseNow(key) : (staged ?? undefined);
          };
  }

  /** Number of distinct keys with a pending write. */
  get pendingCount(): number {
    return this.pending.size;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.stage(key, value);
  }

  del(key: Uint8Array): void {
    this.stage(key, null);
  }

  /** Stages ops in order (a later op on the same key wins). */
  write(ops: readonly KvOp[]): void {
    for (const op of ops) this.stage(op.key, op.type === 'put' ? op.value : null);
  }

  private stage(key: Uint8Array, value: Uint8Array | null): void {
    // One search of the map: set() returns what it replaced.
    if (this.pending.set(key, value) === null) this.pendingDeletes--;
    if (value === null) this.pendingDeletes++;
  }

  /** Forgets every pending write: the caller wrote them to the base (see pendingOps). */
  clear(): void {
    this.pending.clear();
    this.pendingDeletes = 0;
  }

  /**
   * Keys in [gte, lt) with a pending put in this overlay itself (not in its base), in key
   * order: what this overlay would reveal of that range if it were written out now.
   */
  pendingPutKeys(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): Uint8Array[] {
    const keys: Uint8Array[] = [];
    for (const [key, value] of this.pending.entries(range)) if (value !== null) keys.push(key);
    return keys;
  }

  /** The pending writes, one per key, in key order: apply them to the base to catch it up. */
  pendingOps(): KvOp[] {
    const ops: KvOp[] = [];
    for (const [key, value] of this.pending.entries()) {
      ops.push(value === null ? { type: 'del', key } : { type: 'put', key, value });
    }
    return ops;
  }

  /** A pending write of `key`: its value, null for a delete, undefined when none is pending. */
  pendingValue(key: Uint8Array): Uint8Array | null | undefined {
    return this.pending.get(key);
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const staged = this.pending.get(key);
    if (staged !== undefined) return staged ?? undefined;
    return this.base.get(key);
  }

  range(range: KvRange): AsyncIterable<KvEntry> {
    if (this.pending.size === 0) return this.base.range(range);
    return this.merged(range);
  }

  private async *merged(range: KvRange): AsyncIterable<KvEntry> {
    let left = range.limit ?? Infinity;
    if (left <= 0) return;
    const bounds = { gte: range.gte, lt: range.lt, reverse: range.reverse };
    // Pending deletes may hide base entries, so the base is asked for that many more
    // (no limit when that would be large anyway).
    const baseLimit = range.limit === undefined ? undefined : range.limit + this.pendingDeletes;
    const baseRange: KvRange = {
      ...(range.gte ? { gte: range.gte } : {}),
      ...(range.lt ? { lt: range.lt } : {}),
      ...(range.reverse ? { reverse: true } : {}),
      ...(baseLimit !== undefined && baseLimit <= BASE_LIMIT_MAX ? { limit: baseLimit } : {}),
    };
    const baseIt = this.base.range(baseRange)[Symbol.asyncIterator]();
    const pendingIt = this.pending.entries(bounds);
    const order = range.reverse ? -1 : 1;
    try {
      // Each side advances only after its entry was consumed, so writes made while the
      // consumer holds an entry are seen (the sorted map re-seeks after changes).
      let b = await baseIt.next();
      let p = pendingIt.next();
      while (!b.done || !p.done) {
        let cmp: number;
        if (b.done) cmp = 1;
        else if (p.done) cmp = -1;
        else cmp = order * compareBytes(b.value.key, p.value[0]);
        if (cmp < 0) {
          yield b.value as KvEntry;
          if (--left <= 0) return;
          b = await baseIt.next();
          continue;
        }
        const key = (p.value as [Uint8Array, Uint8Array | null])[0];
        // Read again: the entry was fetched before the consumer's last writes.
        const value = this.pending.get(key) ?? null;
        if (value !== null) {
          yield { key, value };
          if (--left <= 0) return;
        }
        p = pendingIt.next();
        if (cmp === 0) b = await baseIt.next();
      }
    } finally {
      await baseIt.return?.();
    }
  }
}
