import type { Clock } from '../../application/ports/clock.js';
import type { KvSnapshot, KvStore, KvStoreFactory, KvWriteOptions } from '../../application/ports/kv-store.js';
import type { ShardRef } from '../../application/ports/shard-ref.js';
import type { StorageProbe } from '../../application/ports/storage-probe.js';
import type { Wal, WalFactory } from '../../application/ports/wal.js';
import type { KvEntry, KvOp, KvRange, KvReadView } from '../../domain/database/kv-view.js';
import { MemoryKv } from '../../domain/database/memory-kv.js';
import { INTERNAL_ENCODER } from '../../domain/database/records.js';
import { LAST_VERSION_ID_KEY } from '../../domain/keys/internal-keys.js';
import { isInternalEncoded } from '../../domain/keys/key-encoder.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { storageFailureOf } from '../files/storage-failure.js';
import { type EntryId, INVALID_ENTRY_ID, type LogEntry } from '../../domain/wal/log-entry.js';
import type { SeededRandom } from './seeded-random.js';
import type { Incarnation } from './virtual-time.js';

/** What a simulated disk does wrong, and how often. */
export interface DiskFaults {
  /** Chance that one fsync of a log fails (the log then refuses work until reopened, as a file log does). */
  readonly fsyncFailure: number;
  /** Chance that a store write is also made durable at once (else it waits for a later checkpoint, as SQLite's synchronous=NORMAL may). */
  readonly storeCheckpoint: number;
  /** Deliberate defects (the simulator's --inject): the checker must catch each. */
  readonly ackBeforeFsync?: boolean;
  readonly storeDropsWrites?: boolean;
  /** On reopen the store has lost the shard's last version id record: the replica counts versions from scratch. */
  readonly forgetsLastVersionId?: boolean;
}

/**
 * A disk that refuses writes until told otherwise (ADR 0029): out of space, or failing with
 * an I/O error. Each file meets the error in the form its real adapter meets it (a Node errno
 * error for the log and the probe, SQLite's or LevelDB's for the store) and reports it as the
 * real adapter does, through the same classifier (adapters/files/storage-failure.ts).
 */
export interface WriteFailure {
  readonly errno: 'ENOSPC' | 'EIO';
  /** Which writes fail: the log's, the store's, or both (the write probe fails in every case: it writes beside both). */
  readonly files: 'log' | 'store' | 'all';
  /** Whose error the store reports. */
  readonly store: 'sqlite' | 'level';
}

type WriteFailureOf = (file: 'log' | 'store' | 'probe') => OxiaError | undefined;

interface LogState {
  written: LogEntry[];
  durable: LogEntry[];
}

interface StoreState {
  live: MemoryKv;
  /** Writes since the last checkpoint: what a power loss takes back. */
  unsynced: KvOp[][];
  durable: MemoryKv;
}

const key = (shard: ShardRef): string => `${shard.namespace}/${shard.shard}`;

/**
 * One simulated machine's disk: the logs and stores of its shards, with what has reached
 * the platter kept apart from what was only written. A process crash keeps everything
 * written (the page cache survives it); a power loss keeps only what was synced.
 */
export class SimDisk {
  private readonly logs = new Map<string, LogState>();
  private readonly stores = new Map<string, StoreState>();
  private writeFailure: WriteFailure | undefined;

  constructor(
    readonly name: string,
    private readonly random: SeededRandom,
    private readonly faults: DiskFaults,
    /** Told of every entry appended to any log of this disk (the simulation's invariant checks). */
    private readonly onAppend: (shard: ShardRef, entries: readonly LogEntry[]) => void = () => undefined,
  ) {}

  /** The machine lost power: what was not synced is gone. */
  powerLoss(): void {
    for (const log of this.logs.values()) log.written = log.durable.slice();
    for (const store of this.stores.values()) {
      store.unsynced = [];
      store.live = copyKv(store.durable);
    }
  }

  /** A shard's store as written so far (what the node's process would read); undefined if it has none. */
  storeView(shard: ShardRef): KvReadView | undefined {
    return this.stores.get(key(shard))?.live;
  }

  /** From now on writes fail as `failure` says, until `writesWork()`. */
  failWrites(failure: WriteFailure): void {
    this.writeFailure = failure;
  }

  /** Space was freed, or the device came back: writes succeed again. */
  writesWork(): void {
    this.writeFailure = undefined;
  }

  /** The error a write of `file` meets now, as the real adapter reports it; undefined while writes succeed. */
  private readonly failureOf: WriteFailureOf = (file) => {
    const failure = this.writeFailure;
    if (!failure || (file !== 'probe' && failure.files !== 'all' && failure.files !== file)) return undefined;
    const what = file === 'log' ? `WAL ${this.name}/wal` : file === 'store' ? `kv store ${this.name}/data write` : `write probe in ${this.name}/data`;
    const raw = file === 'store' ? storeError(failure) : errnoError(failure.errno);
    return storageFailureOf(raw, what) ?? new OxiaError('StorageFailed', `${what} failed: ${raw.message}`);
  };

  walFactory(incarnation: Incarnation, clock: Clock): WalFactory {
    return {
      open: async (shard) => {
        incarnation.check();
        let state = this.logs.get(key(shard));
        if (!state) this.logs.set(key(shard), (state = { written: [], durable: [] }));
        return new MemoryWal(state, incarnation, clock, this.random, this.faults, this.failureOf, (entries) => this.onAppend(shard, entries));
      },
      delete: async (shard) => {
        incarnation.check();
        this.logs.delete(key(shard));
      },
    };
  }

  /**
   * The disk as the storage probe sees it: never below a free-space threshold (the threshold
   * is tested on a real small filesystem, tests/e2e/disk-full*), and writable as long as the
   * machine runs and no write failure was set (failWrites); a failed fsync here is a passing
   * fault, so the shard's probe finds the disk well again.
   */
  storageProbe(incarnation: Incarnation): StorageProbe {
    return {
      shortage: async () => undefined,
      probeWrite: async () => (incarnation.alive ? this.failureOf('probe') : new OxiaError('StorageFailed', 'the machine is down')),
    };
  }

  kvFactory(incarnation: Incarnation): KvStoreFactory {
    return {
      kind: 'memory',
      open: async (shard) => {
        incarnation.check();
        let state = this.stores.get(key(shard));
        if (!state) this.stores.set(key(shard), (state = { live: new MemoryKv(), unsynced: [], durable: new MemoryKv() }));
        else if (this.faults.forgetsLastVersionId) forgetLastVersionId(state);
        return new MemoryKvStore(state, incarnation, this.random, this.faults, this.failureOf);
      },
      delete: async (shard) => {
        incarnation.check();
        this.stores.delete(key(shard));
      },
    };
  }
}

/** A failed write as Node's fs reports it (what the file log and the probe meet). */
function errnoError(errno: WriteFailure['errno']): Error {
  const text = errno === 'ENOSPC' ? 'no space left on device' : 'i/o error';
  return Object.assign(new Error(`${errno}: ${text}, write (simulated)`), { code: errno, syscall: 'write' });
}

/**
 * A failed store write as each backend reports it: better-sqlite3's SqliteError carries
 * SQLite's extended result code; classic-level gives LevelDB's status text with the code
 * LEVEL_IO_ERROR (binding.cc), the errno only in the text.
 */
function storeError(failure: WriteFailure): Error {
  if (failure.store === 'sqlite') {
    return failure.errno === 'ENOSPC'
      ? Object.assign(new Error('database or disk is full'), { name: 'SqliteError', code: 'SQLITE_FULL' })
      : Object.assign(new Error('disk I/O error'), { name: 'SqliteError', code: 'SQLITE_IOERR_WRITE' });
  }
  const text = failure.errno === 'ENOSPC' ? 'No space left on device' : 'Input/output error';
  return Object.assign(new Error(`IO error: 000005.log: ${text} (simulated)`), { code: 'LEVEL_IO_ERROR' });
}

/** The defect version-reuse: the record of the shard's version counter is gone, written or synced. */
function forgetLastVersionId(state: StoreState): void {
  const forget: KvOp[] = [{ type: 'del', key: INTERNAL_ENCODER.encode(LAST_VERSION_ID_KEY) }];
  state.live.write(forget);
  state.durable.write(forget);
}

function copyKv(from: MemoryKv): MemoryKv {
  const to = new MemoryKv();
  to.write(from.snapshotOps());
  return to;
}

class MemoryWal implements Wal {
  private failure: Error | undefined;
  private closed = false;
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private syncScheduled = false;
  private lazySync: (() => void) | undefined;

  constructor(
    private readonly state: LogState,
    private readonly incarnation: Incarnation,
    private readonly clock: Clock,
    private readonly random: SeededRandom,
    private readonly faults: DiskFaults,
    private readonly failureOf: WriteFailureOf,
    private readonly onAppend: (entries: readonly LogEntry[]) => void,
  ) {}

  firstOffset(): bigint {
    return this.state.written[0]?.offset ?? -1n;
  }

  lastEntryId(): EntryId {
    const last = this.state.written[this.state.written.length - 1];
    return last ? { term: last.term, offset: last.offset } : INVALID_ENTRY_ID;
  }

  append(entries: readonly LogEntry[]): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    let prev = this.lastEntryId();
    for (const e of entries) {
      if (prev.offset === -1n ? e.offset < 0n : e.offset !== prev.offset + 1n) {
        return Promise.reject(new OxiaError('InvalidArgument', `WAL append: got offset ${e.offset} after ${prev.offset}`));
      }
      if (e.term < prev.term) return Promise.reject(new OxiaError('InvalidTerm', `WAL append: term ${e.term} below ${prev.term}`));
      prev = e;
    }
    this.state.written.push(...entries);
    this.onAppend(entries);
    if (this.faults.ackBeforeFsync) {
      // The defect: acknowledged at once, made durable by a background sync now and then.
      if (!this.lazySync) this.lazySync = this.clock.schedule(100, () => ((this.lazySync = undefined), this.scheduleSync()));
      return Promise.resolve();
    }
    return this.synced();
  }

  async *read(fromOffset: bigint): AsyncIterable<LogEntry> {
    let next = fromOffset;
    for (;;) {
      this.incarnation.check();
      if (this.closed) throw new OxiaError('Closed', 'WAL is closed');
      const log = this.state.written;
      const first = log[0];
      if (!first) return;
      if (next < first.offset) throw new OxiaError('InvalidArgument', `WAL read from ${next}: the log starts at ${first.offset}`);
      const entry = log[Number(next - first.offset)];
      if (!entry) return;
      yield entry;
      next++;
    }
  }

  truncateAfter(offset: bigint): Promise<EntryId> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const log = this.state.written;
    const first = log[0];
    if (first && offset < first.offset) log.length = 0;
    else if (first) log.length = Math.min(log.length, Number(offset - first.offset) + 1);
    const head = this.lastEntryId();
    return this.synced().then(() => head);
  }

  trimBefore(offset: bigint): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const log = this.state.written;
    const first = log[0];
    if (first && offset > first.offset) log.splice(0, Math.min(log.length - 1, Number(offset - first.offset)));
    return this.synced();
  }

  expire(): Promise<void> {
    // Retention by age is not simulated: the runs are shorter than any retention period.
    const refused = this.refusal();
    return refused ? Promise.reject(refused) : Promise.resolve();
  }

  clear(): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    this.state.written = [];
    return this.synced();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private refusal(): Error | undefined {
    if (!this.incarnation.alive) return new Error('this incarnation has crashed');
    if (this.closed) return new OxiaError('Closed', 'WAL is closed');
    return this.failure;
  }

  /** Resolves at the next fsync, which makes everything written so far durable (group commit). */
  private synced(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.scheduleSync();
    return done;
  }

  private scheduleSync(): void {
    if (this.syncScheduled) return;
    this.syncScheduled = true;
    this.clock.schedule(this.random.between(0, 3) * 0.5, () => {
      this.syncScheduled = false;
      const waiters = this.waiters;
      this.waiters = [];
      if (this.failure) {
        for (const w of waiters) w.reject(this.failure);
        return;
      }
      const refused = this.failureOf('log');
      if (refused) {
        // The write did not reach the file: what was not synced before is not in it.
        this.state.written = this.state.durable.slice();
        this.failure = refused;
        for (const w of waiters) w.reject(this.failure);
        return;
      }
      if (this.random.chance(this.faults.fsyncFailure)) {
        // As the file log reports it (adapters/files/storage-failure.ts): a typed storage failure.
        this.failure = new OxiaError('StorageFailed', 'WAL fsync failed: I/O error (EIO, simulated)');
        for (const w of waiters) w.reject(this.failure);
        return;
      }
      this.state.durable = this.state.written.slice();
      for (const w of waiters) w.resolve();
    });
  }
}

class MemoryKvStore implements KvStore {
  private closed = false;

  constructor(
    private readonly state: StoreState,
    private readonly incarnation: Incarnation,
    private readonly random: SeededRandom,
    private readonly faults: DiskFaults,
    private readonly failureOf: WriteFailureOf,
  ) {}

  async get(k: Uint8Array): Promise<Uint8Array | undefined> {
    this.usable();
    return this.state.live.getNow(k);
  }

  async *range(range: KvRange): AsyncIterable<KvEntry> {
    this.usable();
    for await (const e of this.state.live.range(range)) {
      this.usable();
      yield e;
    }
  }

  async write(ops: readonly KvOp[], options?: KvWriteOptions): Promise<void> {
    this.usable();
    // As a SQLite transaction or a LevelDB batch: a failed write leaves nothing of itself.
    const refused = this.failureOf('store');
    if (refused) throw refused;
    const kept = this.faults.storeDropsWrites && this.random.chance(0.05) ? ops.filter((op) => !isUserRecord(op)) : ops;
    this.state.live.write(kept);
    this.state.unsynced.push(kept.slice());
    // Drawn either way, so that durable writes do not shift the run's other draws.
    const checkpoint = this.random.chance(this.faults.storeCheckpoint);
    // A durable write syncs the store's own log, and with it every write before it.
    if (options?.durable || checkpoint) {
      for (const batch of this.state.unsynced) this.state.durable.write(batch);
      this.state.unsynced = [];
    }
  }

  /** A copy of the store as it is now (the simulated stores are small). */
  async snapshot(): Promise<KvSnapshot> {
    this.usable();
    const frozen = copyKv(this.state.live);
    return { get: (k) => frozen.get(k), range: (r) => frozen.range(r), close: async () => undefined };
  }

  /** Writes reach the simulated store at once. */
  async flush(): Promise<void> {
    this.usable();
  }

  async sizeBytes(): Promise<bigint> {
    return BigInt(this.state.live.size);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private usable(): void {
    this.incarnation.check();
    if (this.closed) throw new OxiaError('Closed', 'store is closed');
  }
}

/** A record a client wrote (not the shard's own bookkeeping under the internal prefix). */
function isUserRecord(op: KvOp): boolean {
  return op.type === 'put' && !isInternalEncoded(op.key);
}
