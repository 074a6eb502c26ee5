import { Level } from 'level';
import type { KvSnapshot, KvStore, KvWriteOptions } from '../../application/ports/kv-store.js';
import type { KvEntry, KvOp, KvRange } from '../../domain/database/kv-view.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { asStorageFailure } from '../files/storage-failure.js';
import { bytesOnDisk, plainBytes, rangeLimit } from '../kv-common/shard-files.js';

/** The LevelDB directory inside a shard's directory. */
export const LEVEL_DIR = 'kv.level';

type Db = Level<Uint8Array, Uint8Array>;
type Snapshot = ReturnType<Db['snapshot']>;
/**
 * On Node `Level` is classic-level's ClassicLevel, which also reads synchronously; level's
 * own typings do not say so. A point read is a memtable or block-cache lookup: done inline
 * it is ~20x faster than a round trip through libuv's thread pool.
 */
type SyncReads = { getSync(key: Uint8Array): Uint8Array | undefined };
type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

/**
 * One shard's ordered map in LevelDB (classic-level), whose default comparator is bytewise.
 *
 * Durability (see ADR 0004): batches are written without fsync. LevelDB appends each
 * batch to its own log as one checksummed record with write(2) before the call returns,
 * so a batch is atomic and a killed process loses nothing; a power cut may drop the
 * newest batches (recovery stops at the first torn record), which the shard's log replays.
 *
 * range() reads one LevelDB iterator in pages (nextv); the iterator reads from the
 * snapshot LevelDB takes when it is created, so a scan never sees writes made after it
 * started (snapshot semantics).
 */
export class LevelKvStore implements KvStore {
  private closed = false;
  /**
   * The newest write in flight. classic-level runs batches on libuv's thread pool, where
   * two batches issued back to back may reach LevelDB in either order; chaining them keeps
   * the order of write() calls, so a later call always wins.
   */
  private writeTail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly db: Db,
    private readonly dir: string,
    private readonly pageSize: number,
    private readonly release: () => void,
  ) {}

  static async open(dir: string, pageSize: number, release: () => void): Promise<LevelKvStore> {
    const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    if (typeof (db as unknown as Partial<SyncReads>).getSync !== 'function') {
      release();
      throw new Error('level is not backed by classic-level here: getSync is missing');
    }
    try {
      await db.open({ createIfMissing: true });
    } catch (e) {
      release();
      if ((e as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') {
        throw new OxiaError('ResourceConflict', `kv store ${dir} is locked by another process`);
      }
      throw e;
    }
    return new LevelKvStore(db, dir, pageSize, release);
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.getNow(key);
  }

  readonly getNow = (key: Uint8Array): Uint8Array | undefined => {
    this.assertOpen();
    try {
      const value = (this.db as unknown as SyncReads).getSync(key);
      return value === undefined ? undefined : plainBytes(value);
    } catch (e) {
      throw this.closedOr(e);
    }
  };

  range(range: KvRange): AsyncIterable<KvEntry> {
    return this.iterate(range, undefined);
  }

  /** LevelDB's explicit snapshot: reads through it see the store as of now, whatever is written later. */
  async snapshot(): Promise<KvSnapshot> {
    this.assertOpen();
    const snapshot = this.db.snapshot();
    let closed = false;
    return {
      get: async (key) => {
        this.assertOpen();
        try {
          const value = await this.db.get(key, { snapshot });
          return value === undefined ? undefined : plainBytes(value);
        } catch (e) {
          throw this.closedOr(e);
        }
      },
      range: (range) => this.iterate(range, snapshot),
      close: async () => {
        if (closed) return;
        closed = true;
        // After the store's close, LevelDB already released it.
        if (!this.closed) await snapshot.close();
      },
    };
  }

  private async *iterate(range: KvRange, snapshot: Snapshot | undefined): AsyncIterable<KvEntry> {
    const limit = rangeLimit(range.limit);
    if (limit === 0) return;
    this.assertOpen();
    // Only bounds that are present: abstract-level reads a present-but-undefined bound as a bound.
    const iterator = this.db.iterator({
      ...(range.gte !== undefined && { gte: range.gte }),
      ...(range.lt !== undefined && { lt: range.lt }),
      ...(snapshot !== undefined && { snapshot }),
      reverse: range.reverse === true,
      limit: limit === Number.POSITIVE_INFINITY ? -1 : limit,
    });
    try {
      for (;;) {
        let page: Array<[Uint8Array, Uint8Array]>;
        try {
          page = await iterator.nextv(this.pageSize);
        } catch (e) {
          throw this.closedOr(e);
        }
        if (page.length === 0) return;
        for (const [key, value] of page) yield { key: plainBytes(key), value: plainBytes(value) };
      }
    } finally {
      await iterator.close();
    }
  }

  async write(ops: readonly KvOp[], options?: KvWriteOptions): Promise<void> {
    this.assertOpen();
    // Checked and copied into LevelDB's form before anything is queued: a bad op fails the whole call.
    const batch = ops.map(toBatchOp);
    if (batch.length === 0) return;
    // sync: LevelDB fsyncs its log after this batch, and with it every batch before (ADR 0004).
    const done = this.writeTail.then(() => this.db.batch(batch, { sync: options?.durable === true }));
    this.writeTail = done.catch(() => undefined);
    try {
      await done;
    } catch (e) {
      // A batch is atomic in LevelDB: on failure nothing of it is in the store.
      throw asStorageFailure(this.closedOr(e), `kv store ${this.dir} write`);
    }
  }

  /** Writes accepted so far have reached LevelDB once they resolved (a failed one was thrown to its writer). */
  async flush(): Promise<void> {
    this.assertOpen();
    await this.writeTail;
  }

  async sizeBytes(): Promise<bigint> {
    this.assertOpen();
    return bytesOnDisk(this.dir);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // Writes already accepted finish first; open iterators are closed by LevelDB's close.
      await this.writeTail;
      await this.db.close();
    } finally {
      this.release();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new OxiaError('Closed', `kv store ${this.dir} is closed`);
  }

  /** LevelDB's "not open" errors after close() become the port's Closed error. */
  private closedOr(e: unknown): unknown {
    const code = (e as { code?: string }).code;
    if (this.closed && (code === 'LEVEL_DATABASE_NOT_OPEN' || code === 'LEVEL_ITERATOR_NOT_OPEN')) {
      return new OxiaError('Closed', `kv store ${this.dir} is closed`);
    }
    return e;
  }
}

function toBatchOp(op: KvOp): BatchOp {
  if (op.type === 'put') return { type: 'put', key: op.key, value: op.value };
  if (op.type === 'del') return { type: 'del', key: op.key };
  throw new Error(`unknown kv op type: ${(op as { type: unknown }).type}`);
}
