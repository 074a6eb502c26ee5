import { performance } from 'node:perf_hooks';
import type { KvSnapshot, KvStore, KvStoreFactory, KvWriteOptions } from '../../application/ports/kv-store.js';
import type { Metrics } from '../../application/ports/metrics.js';
import type { ShardRef } from '../../application/ports/shard-ref.js';
import { SHARD_LABELS, shardLabels } from '../../application/shard/shard-metrics.js';
import { DecoratingKvStoreFactory } from '../kv-common/decorating-kv-store-factory.js';
import type { KvEntry, KvOp, KvRange, KvReadView } from '../../domain/database/kv-view.js';
import { OverlayView } from '../../domain/database/overlay-view.js';

/** How long, and how much, writes may wait in memory before they are committed to the store. */
export interface WriteBehindLimits {
  /** The longest a write waits before its commit starts (ms). */
  readonly intervalMs: number;
  /** Distinct keys waiting, at most: a write that reaches this commits at once. */
  readonly maxKeys: number;
  /** Bytes of keys and values written since the last commit, at most: likewise. */
  readonly maxBytes: number;
}

export const DEFAULT_WRITE_BEHIND_LIMITS: WriteBehindLimits = Object.freeze({ intervalMs: 100, maxKeys: 4096, maxBytes: 4 * 1024 * 1024 });

/**
 * A read view whose target changes: the newest layer reads through it, first to the layer
 * being committed, then (once that commit is done) straight to the store.
 */
class SwitchableView implements KvReadView {
  readonly getNow: ((key: Uint8Array) => Uint8Array | undefined) | undefined;

  constructor(
    public target: KvReadView,
    synchronous: boolean,
  ) {
    // Every target this view ever gets reads synchronously when the store does.
    this.getNow = synchronous ? (key) => this.target.getNow!(key) : undefined;
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.target.get(key);
  }

  range(range: KvRange): AsyncIterable<KvEntry> {
    return this.target.range(range);
  }
}

/** What has not reached the backing store yet: waiting, and being committed. */
export interface WriteBehindBacklog {
  /** Distinct keys per layer, summed (a key waiting and being committed counts twice). */
  readonly keys: number;
  readonly bytes: number;
  /** How long ago the oldest of those writes was made (ms); 0 when there is none. */
  readonly oldestAgeMs: number;
}

/**
 * A store whose writes are committed to the backing store in the background, several applied
 * batches per transaction, at most `intervalMs` after they were made (ADR 0016, fourth pass).
 *
 * Why: an applied batch cost one store transaction on every replica before the leader could
 * answer; a SQLite commit took 0.2-0.4 ms of a one-caller put. The shard's log already holds
 * every applied entry durably, and the store records the commit offset it reached with the
 * entries' writes, so a crash that loses the writes waiting here loses nothing: the store
 * reopens at an earlier commit offset and the log replays the rest (as it did after a power
 * loss, the store's writes not being synced either). The log keeps those entries: retention
 * calls flush() before it trims the log past the applied offset.
 *
 * Reads see every write at once: they go through the waiting writes (an overlay), then the
 * writes being committed, then the store. A commit writes the waiting writes as one atomic
 * store write; since each write left the store at a consistent point (an applied batch, a
 * chunk of a long removal), the union of several, later writes winning, is such a point too.
 * A commit that fails makes every later write, flush and snapshot fail with its error (the
 * shard stops, as when the store write itself failed; the log keeps what was lost); close
 * then just closes the store.
 */
export class WriteBehindKvStore implements KvStore {
  /** The writes not yet being committed, over `lower`. */
  private waiting: OverlayView;
  private lower: SwitchableView;
  private waitingBytes = 0;
  /** When the first write now waiting was made (monotonic ms). */
  private waitingSinceMs = 0;
  /** The layer being committed, while a commit runs. */
  private inCommit: { readonly keys: number; readonly bytes: number; readonly sinceMs: number } | undefined;
  /** Writes made, and writes the store has (counted in order). */
  private written = 0;
  private stored = 0;
  /** The commit in progress, if any. */
  private committing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failure: unknown;
  /** close() was called; `closed` once the store is closed (reads go through the layers until then). */
  private closing = false;
  private closed = false;
  readonly getNow: ((key: Uint8Array) => Uint8Array | undefined) | undefined;

  constructor(
    private readonly store: KvStore,
    private readonly limits: WriteBehindLimits,
    private readonly onClosed: () => void = () => undefined,
  ) {
    this.lower = new SwitchableView(store, store.getNow !== undefined);
    this.waiting = new OverlayView(this.lower);
    const storeNow = store.getNow;
    this.getNow = storeNow === undefined ? undefined : (key) => (this.direct() ? storeNow(key) : this.waiting.getNow!(key));
  }

  /**
   * Whether reads can go straight to the store: nothing waits, and no layer is between (being
   * committed, or kept after a failed commit). Closed: the store says so.
   */
  private direct(): boolean {
    return this.closed || (this.lower.target === this.store && this.waiting.pendingCount === 0);
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.direct() ? this.store.get(key) : this.waiting.get(key);
  }

  range(range: KvRange): AsyncIterable<KvEntry> {
    return this.direct() ? this.store.range(range) : this.waiting.range(range);
  }

  async write(ops: readonly KvOp[], options?: KvWriteOptions): Promise<void> {
    if (this.closed) return this.store.write(ops, options);
    this.check();
    // Checked before anything is staged: a bad op must fail its own write, whole, not a later commit.
    for (const op of ops) checkOp(op);
    if (options?.durable) {
      // Durable means this write and every earlier one: those waiting go first.
      await this.flush();
      await this.store.write(ops, options);
      return;
    }
    if (ops.length === 0) return;
    if (this.waiting.pendingCount === 0) this.waitingSinceMs = performance.now();
    this.waiting.write(ops);
    this.written++;
    for (const op of ops) this.waitingBytes += op.key.byteLength + (op.type === 'put' ? op.value.byteLength : 0);
    if (this.waiting.pendingCount >= this.limits.maxKeys || this.waitingBytes >= this.limits.maxBytes || this.limits.intervalMs <= 0) {
      await this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        // A failure is kept and thrown by the next write.
        this.flush().catch(() => undefined);
      }, this.limits.intervalMs);
      // Waiting writes must not keep the process alive: the log holds them.
      this.timer.unref();
    }
  }

  /** Resolves once every write made so far has reached the backing store. */
  async flush(): Promise<void> {
    // Only the writes made before this call: under steady writes a flush still ends.
    const target = this.written;
    for (;;) {
      this.check();
      if (this.stored >= target) return;
      this.committing ??= this.commitWaiting();
      await this.committing;
    }
  }

  /** The waiting writes become the layer being committed; new writes wait in a fresh layer over it. */
  private async commitWaiting(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const layer = this.waiting;
    const upTo = this.written;
    const above = new SwitchableView(layer, this.store.getNow !== undefined);
    this.lower = above;
    this.waiting = new OverlayView(above);
    this.inCommit = { keys: layer.pendingCount, bytes: this.waitingBytes, sinceMs: this.waitingSinceMs };
    this.waitingBytes = 0;
    try {
      await this.store.write(layer.pendingOps());
      this.stored = upTo;
      // The store has them: the newest layer reads the store directly again.
      above.target = this.store;
      this.inCommit = undefined;
    } catch (e) {
      // The layer stays readable (and counted as not stored); nothing more is committed.
      this.failure ??= e;
    } finally {
      this.committing = undefined;
    }
  }

  /** What has not reached the store yet, for metrics. */
  backlog(): WriteBehindBacklog {
    const waitingKeys = this.closed ? 0 : this.waiting.pendingCount;
    const since = this.inCommit?.sinceMs ?? (waitingKeys > 0 ? this.waitingSinceMs : undefined);
    return {
      keys: waitingKeys + (this.inCommit?.keys ?? 0),
      bytes: (waitingKeys > 0 ? this.waitingBytes : 0) + (this.inCommit?.bytes ?? 0),
      oldestAgeMs: since === undefined ? 0 : performance.now() - since,
    };
  }

  async snapshot(): Promise<KvSnapshot> {
    await this.flush();
    return this.store.snapshot();
  }

  /** The store's size with every write made so far in it. */
  async sizeBytes(): Promise<bigint> {
    await this.flush();
    return this.store.sizeBytes();
  }

  /**
   * Commits what waits, then closes the store; this last commit's failure is thrown once the store
   * is closed. After an earlier failed commit (thrown to the writes since, counted by the metered
   * store) it just closes: a shard dropping a failed store must be able to.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    let error: unknown;
    try {
      // Writes made while closing are committed too.
      while (this.failure === undefined && this.stored < this.written) await this.flush();
    } catch (e) {
      error = e;
    } finally {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      // Only now: a read made while the last commit ran must still see its writes.
      this.closed = true;
      this.onClosed();
      await this.store.close();
    }
    if (error !== undefined) throw error;
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

function checkOp(op: KvOp): void {
  const ok = op.key instanceof Uint8Array && (op.type === 'del' || (op.type === 'put' && op.value instanceof Uint8Array));
  if (!ok) throw new TypeError(`not a store op: type ${String((op as { type?: unknown }).type)}`);
}

/**
 * Opens the backend's stores behind write-behind commits. With Metrics, each open store's
 * backlog is exported per shard, read when the node is scraped (nothing is counted per write):
 * under steady writes it stays within the limits; a backlog that grows, or whose oldest write
 * is older than the interval plus a commit, means the store cannot keep up with the log.
 */
export class WriteBehindKvStoreFactory extends DecoratingKvStoreFactory {
  private readonly opened = new Map<WriteBehindKvStore, ShardRef>();

  constructor(
    backend: KvStoreFactory,
    private readonly limits: WriteBehindLimits,
    metrics?: Metrics,
  ) {
    super(backend);
    if (metrics !== undefined) this.exportBacklogs(metrics);
  }

  protected decorate(store: KvStore, shard: ShardRef): KvStore {
    const decorated: WriteBehindKvStore = new WriteBehindKvStore(store, this.limits, () => this.opened.delete(decorated));
    this.opened.set(decorated, shard);
    return decorated;
  }

  private exportBacklogs(metrics: Metrics): void {
    const keys = metrics.gauge('oxia_server_kv_write_behind_pending_keys', 'Keys written to the shard but not yet committed to its key-value store (write-behind)', SHARD_LABELS);
    const bytes = metrics.gauge('oxia_server_kv_write_behind_pending_bytes', 'Bytes of keys and values written to the shard but not yet committed to its key-value store', SHARD_LABELS);
    const age = metrics.gauge('oxia_server_kv_write_behind_oldest_pending_milliseconds', 'Age of the oldest write not yet committed to the key-value store (0: none)', SHARD_LABELS);
    metrics.onScrape(() => {
      // Rebuilt whole: a closed store's series go with it.
      for (const g of [keys, bytes, age]) g.reset();
      for (const [store, shard] of this.opened) {
        const labels = shardLabels(shard);
        const backlog = store.backlog();
        keys.set(labels, backlog.keys);
        bytes.set(labels, backlog.bytes);
        age.set(labels, backlog.oldestAgeMs);
      }
    });
  }
}
