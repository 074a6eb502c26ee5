/**
 * The database state machine's view of a shard's key-value store: an ordered map
 * of byte strings, compared bytewise (memcmp). Every ordering the API offers
 * (hierarchical, natural, internal keys last) comes from how keys/ encodes keys
 * into these bytes, so stores only ever need byte order.
 */
export interface KvEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** A bytewise range; bounds absent mean unbounded. */
export interface KvRange {
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly reverse?: boolean;
  readonly limit?: number;
}

export interface KvReadView {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * The same point read, answered synchronously, for views that can (both stores read
   * synchronously underneath, the read cache too): a read served this way costs no promise
   * or async frame. Absent: use get().
   */
  readonly getNow?: ((key: Uint8Array) => Uint8Array | undefined) | undefined;
  /** Entries in bytewise key order (descending when reverse). */
  range(range: KvRange): AsyncIterable<KvEntry>;
}

/** A point read of `view`, answered without a promise when the view reads synchronously (getNow). */
export function pointRead(view: KvReadView, key: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined> {
  const now = view.getNow;
  return now === undefined ? view.get(key) : now(key);
}

export type KvOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };
