import type { KvEntry, KvRange, KvReadView } from './kv-view.js';

/** What RememberingView.recalled answers for a key object it was not asked for. */
export const NOT_RECALLED: unique symbol = Symbol('not recalled');

/**
 * A read view that remembers what its base answered to synchronous point reads, by key
 * object (no copy, no string: the same Uint8Array must come back). Applying a batch reads
 * the record each put or delete replaces, then hands the same key object to the state
 * digest (ADR 0031), which needs that value again: recalling it spares the second read of
 * the store. Valid while the base does not change: forget() after writing to it.
 */
export class RememberingView implements KvReadView {
  private readonly answers = new Map<Uint8Array, Uint8Array | undefined>();
  readonly getNow: ((key: Uint8Array) => Uint8Array | undefined) | undefined;

  constructor(private readonly base: KvReadView) {
    const baseNow = base.getNow;
    this.getNow =
      baseNow === undefined
        ? undefined
        : (key) => {
            const value = baseNow(key);
            this.answers.set(key, value);
            return value;
          };
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.base.get(key);
  }

  range(range: KvRange): AsyncIterable<KvEntry> {
    return this.base.range(range);
  }

  /** The base's answer to getNow(key) for this very key object, or NOT_RECALLED. */
  recalled(key: Uint8Array): Uint8Array | undefined | typeof NOT_RECALLED {
    const value = this.answers.get(key);
    return value !== undefined || this.answers.has(key) ? value : NOT_RECALLED;
  }

  /** Forgets every answer: the base was written to. */
  forget(): void {
    this.answers.clear();
  }
}
