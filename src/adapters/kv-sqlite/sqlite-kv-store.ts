import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import Database from 'better-sqlite3';
import type { KvSnapshot, KvStore, KvWriteOptions } from '../../application/ports/kv-store.js';
import type { KvEntry, KvOp, KvRange } from '../../domain/database/kv-view.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { asStorageFailure } from '../files/storage-failure.js';
import { bytesOnDisk, plainBytes, rangeLimit } from '../kv-common/shard-files.js';
import { WalPreflush } from './wal-preflush.js';

/** The SQLite file of a shard and the files SQLite keeps next to it. */
export const SQLITE_FILE = 'kv.sqlite';
export const SQLITE_FILES = [SQLITE_FILE, `${SQLITE_FILE}-wal`, `${SQLITE_FILE}-shm`, `${SQLITE_FILE}-journal`] as const;

type Row = [key: Buffer, value: Buffer];

/** Directories inside a shard's directory holding a snapshot's copy of the file (snapshot()). */
const SNAPSHOT_DIR_PREFIX = 'kv-snapshot-';

/**
 * SQLite's page cache per open store, in KiB (SQLite's default is 2 MiB). Every applied
 * put reads, then rewrites, its record's B-tree path; with the default cache the pages
 * of hot keys are pushed out by the notification batches written alongside them, and
 * each miss is a read from the -wal or database file. Pages are cached as used, so a
 * small store never holds this much.
 */
const PAGE_CACHE_KIB = 16 * 1024;

/**
 * The page size of a new database file, in bytes (SQLite's default is 4 KiB; an existing file
 * keeps the size it was created with). A WITHOUT ROWID table keeps at most about a quarter of a
 * page of a row in its leaf and chains the rest through overflow pages: with 4 KiB pages every
 * row over ~1 KiB overflows, and each write batch's notification record (the batch's keys, a
 * kilobyte or more) does. Measured on this machine, a put batch with such a record costs 3x
 * more per row with 4 KiB pages than with 16 KiB ones, and point reads in between 3x more too.
 */
const PAGE_SIZE_BYTES = 16 * 1024;

/**
 * One shard's ordered map in a SQLite file: a single BLOB-keyed table WITHOUT ROWID, so
 * the primary key B-tree is the map and BLOB comparison (memcmp, then length) is the order.
 *
 * Durability (see ADR 0004): WAL journal with synchronous=NORMAL. Each write() is one
 * transaction, so it is atomic; a commit reaches the OS before write() returns, so a
 * killed process loses nothing; a power cut may roll back the newest commits but never
 * corrupts the file, and the shard's log replays them. locking_mode=EXCLUSIVE keeps the
 * file locked while open, so a second process (e.g. a stale node) cannot open it.
 *
 * range() pages with a key cursor: each page is one query, consistent in itself; writes
 * made between pages are seen beyond the cursor (cursor semantics, not a snapshot).
 */
export class SqliteKvStore implements KvStore {
  private closed = false;
  private readonly getStmt: Database.Statement<[Uint8Array], Buffer>;
  private readonly applyOps: (ops: readonly KvOp[]) => void;
  /** Prepared range queries by shape (which bounds, direction): at most 10. */
  private readonly rangeStmts = new Map<string, Database.Statement<unknown[], Row>>();
  private readonly preflush: WalPreflush;

  private constructor(
    private readonly db: Database.Database,
    private readonly dir: string,
    private readonly pageSize: number,
    private readonly release: () => void,
  ) {
    this.preflush = new WalPreflush(`${dir}/${SQLITE_FILE}-wal`);
    this.getStmt = db.prepare<[Uint8Array], Buffer>('SELECT value FROM kv WHERE key = ?').pluck();
    const del = db.prepare<[Uint8Array]>('DELETE FROM kv WHERE key = ?');
    const puts = new PutStatements(db);
    // better-sqlite3 rolls the transaction back when the function throws: all ops or none.
    this.applyOps = db.transaction((ops: readonly KvOp[]) => {
      let i = 0;
      while (i < ops.length) {
        const op = ops[i]!;
        if (op.type === 'put') i = puts.run(ops, i);
        else if (op.type === 'del') {
          del.run(op.key);
          i++;
        } else throw new Error(`unknown kv op type: ${(op as { type: unknown }).type}`);
      }
    });
  }

  /** Opens (creating if needed) the store in `dir`, which must exist. Synchronous: SQLite is. */
  static open(dir: string, pageSize: number, release: () => void): SqliteKvStore {
    let db: Database.Database | undefined;
    try {
      // timeout 0: a file locked by another process is refused at once rather than waited for.
      db = new Database(`${dir}/${SQLITE_FILE}`, { timeout: 0 });
      // Before anything is written: a page size applies only while the file is empty.
      db.pragma(`page_size = ${PAGE_SIZE_BYTES}`);
      db.pragma('locking_mode = EXCLUSIVE');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`SQLite refused WAL journal mode (got ${String(mode)})`);
      db.pragma('synchronous = NORMAL');
      db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
      // Statement journals in memory: SQLite keeps one per upsert statement inside a
      // transaction (to undo that statement alone), and with 16 KiB pages it spills to a
      // deleted temp file, so each applied batch wrote its pages twice; those writes waited
      // behind the WAL's O_DSYNC writes (over 1 ms each at times). It holds at most the pages
      // one statement changes (PUT_ROWS_MAX rows) and is freed at the statement's end.
      db.pragma('temp_store = MEMORY');
      db.exec('CREATE TABLE IF NOT EXISTS kv (key BLOB NOT NULL PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID');
      return new SqliteKvStore(db, dir, pageSize, release);
    } catch (e) {
      db?.close();
      release();
      if ((e as { code?: string }).code === 'SQLITE_BUSY') {
        throw new OxiaError('ResourceConflict', `kv store ${dir} is locked by another process`);
      }
      throw e;
    }
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.getNow(key);
  }

  readonly getNow = (key: Uint8Array): Uint8Array | undefined => {
    this.assertOpen();
    const value = this.getStmt.get(key);
    return value === undefined ? undefined : plainBytes(value);
  };

  async *range(range: KvRange): AsyncIterable<KvEntry> {
    let remaining = rangeLimit(range.limit);
    const reverse = range.reverse === true;
    let cursor: Uint8Array | undefined;
    while (remaining > 0) {
      this.assertOpen();
      const pageLimit = Math.min(this.pageSize, remaining);
      const rows = this.page(range, reverse, cursor, pageLimit);
      for (const [key, value] of rows) yield { key: plainBytes(key), value: plainBytes(value) };
      if (rows.length < pageLimit) return;
      remaining -= rows.length;
      cursor = rows[rows.length - 1]![0];
    }
  }

  /** One page of the range, continuing strictly after `cursor` (in scan direction) when given. */
  private page(range: KvRange, reverse: boolean, cursor: Uint8Array | undefined, limit: number): Row[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const lower = reverse ? range.gte : (cursor ?? range.gte);
    const upper = reverse ? (cursor ?? range.lt) : range.lt;
    if (lower !== undefined) {
      where.push(!reverse && cursor !== undefined ? 'key > ?' : 'key >= ?');
      args.push(lower);
    }
    if (upper !== undefined) {
      // `lt` and a reverse cursor are both exclusive.
      where.push('key < ?');
      args.push(upper);
    }
    const sql =
      `SELECT key, value FROM kv${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}` +
      ` ORDER BY key ${reverse ? 'DESC' : 'ASC'} LIMIT ?`;
    let stmt = this.rangeStmts.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare<unknown[], Row>(sql).raw();
      this.rangeStmts.set(sql, stmt);
    }
    return stmt.all(...args, limit);
  }

  async write(ops: readonly KvOp[], options?: KvWriteOptions): Promise<void> {
    this.assertOpen();
    if (ops.length === 0) return;
    try {
      if (options?.durable) this.applyDurably(ops);
      else this.applyOps(ops);
      this.preflush.committed();
    } catch (e) {
      // The transaction rolled back: nothing of `ops` is in the store.
      throw asStorageFailure(e, `kv store ${this.dir} write`);
    }
  }

  /**
   * One commit under synchronous=FULL: in WAL mode SQLite then fsyncs the -wal file at the
   * commit, which makes this transaction and every earlier one in the file durable.
   */
  private applyDurably(ops: readonly KvOp[]): void {
    this.db.pragma('synchronous = FULL');
    try {
      this.applyOps(ops);
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /**
   * A copy of the file made with SQLite's online backup API, on this store's own connection,
   * then opened as a store of its own. The copy is made a step of pages at a time between
   * writes, which go on meanwhile: SQLite writes each page a write changes into the copy too
   * (same connection), so the finished copy is the store as of the moment the copy ended, one
   * whole transaction boundary (a second connection cannot read: the file is locked EXCLUSIVE).
   * Costs the store's size on disk next to it until closed.
   */
  async snapshot(): Promise<KvSnapshot> {
    this.assertOpen();
    const dir = `${this.dir}/${SNAPSHOT_DIR_PREFIX}${randomUUID()}`;
    await mkdir(dir);
    let copy: SqliteKvStore;
    try {
      await this.db.backup(`${dir}/${SQLITE_FILE}`);
      copy = SqliteKvStore.open(dir, this.pageSize, () => {});
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw this.closed ? new OxiaError('Closed', `kv store ${this.dir} is closed`) : e;
    }
    return {
      get: (key) => copy.get(key),
      range: (range) => copy.range(range),
      close: async () => {
        await copy.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  /** Removes snapshot copies a killed process left behind (a live snapshot belongs to an open store). */
  static async removeLeftoverSnapshots(dir: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names) if (name.startsWith(SNAPSHOT_DIR_PREFIX)) await rm(`${dir}/${name}`, { recursive: true, force: true });
  }

  /** Every write is in the database when write() returns. */
  async flush(): Promise<void> {
    this.assertOpen();
  }

  async sizeBytes(): Promise<bigint> {
    this.assertOpen();
    let total = 0n;
    for (const name of SQLITE_FILES) total += await bytesOnDisk(`${this.dir}/${name}`);
    return total;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.preflush.close();
    try {
      this.db.close();
    } finally {
      this.release();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new OxiaError('Closed', `kv store ${this.dir} is closed`);
  }
}

/** Rows one INSERT statement writes at most: a chunk of a typical applied batch in a few statements. */
const PUT_ROWS_MAX = 64;

/**
 * Upserts of consecutive puts, several rows per statement. One statement run costs about as
 * much as writing a row or two (binding, stepping, resetting through the addon): measured on
 * this machine, 64-row statements write a batch of small records for 0.47 µs of CPU per row,
 * one-row statements for 0.78. Rows of one statement are inserted in order, each conflict
 * updating the row, so a later put of a key within a statement wins as it does across them.
 */
class PutStatements {
  /** By row count, prepared when first needed (at most PUT_ROWS_MAX). */
  private readonly byRows: Array<Database.Statement<[readonly Uint8Array[]]> | undefined> = [];
  private readonly args: Uint8Array[] = [];

  constructor(private readonly db: Database.Database) {}

  /** Writes the puts starting at ops[from] (up to PUT_ROWS_MAX of them); returns the index after the last one written. */
  run(ops: readonly KvOp[], from: number): number {
    const args = this.args;
    args.length = 0;
    let i = from;
    for (const end = Math.min(ops.length, from + PUT_ROWS_MAX); i < end; i++) {
      const op = ops[i]!;
      if (op.type !== 'put') break;
      args.push(op.key, op.value);
    }
    this.statement(i - from).run(args);
    args.length = 0;
    return i;
  }

  private statement(rows: number): Database.Statement<[readonly Uint8Array[]]> {
    let stmt = this.byRows[rows];
    if (stmt === undefined) {
      stmt = this.db.prepare<[readonly Uint8Array[]]>(
        `INSERT INTO kv (key, value) VALUES ${Array(rows).fill('(?, ?)').join(', ')} ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      );
      this.byRows[rows] = stmt;
    }
    return stmt;
  }
}
