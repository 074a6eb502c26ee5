import type { KvReadView } from '../../domain/database/kv-view.js';

/** Store entries scanned between two turns of the event loop. */
const ENTRIES_PER_TURN = 512;

/** Lets timers and I/O (health checks, clients, replication) run before the scan goes on. */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * The view, with scans that let the event loop turn every few hundred entries. A store read
 * synchronously (SQLite) otherwise holds the loop for a whole scan: a full scan of a large store
 * (the digest of a split child's copy, ADR 0031) took seconds, and the node missed its health
 * checks and was declared down.
 */
export function yieldingScans(view: KvReadView): KvReadView {
  return {
    get: (key) => view.get(key),
    ...(view.getNow && { getNow: view.getNow }),
    async *range(range) {
      let read = 0;
      for await (const entry of view.range(range)) {
        yield entry;
        if (++read % ENTRIES_PER_TURN === 0) await nextTurn();
      }
    },
  };
}
