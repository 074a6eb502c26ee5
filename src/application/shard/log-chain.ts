import { CHAIN_START_CRC, nextChainCrc, readIntegrity } from '../../domain/integrity/index.js';
import { readCommitState } from '../../domain/database/index.js';
import type { LogEntry } from '../../domain/wal/log-entry.js';
import type { KvStore } from '../ports/kv-store.js';
import type { Wal } from '../ports/wal.js';

/** Chain values kept per replica; beyond, the oldest are forgotten (a follower that far behind is sent entries unchecked). */
const KEPT_MAX = 1 << 18;

/**
 * The CRC chain values (ADR 0031) of the newest entries of one replica's log, in memory:
 * what a leader sends as Append.previous_entry_crc and what a follower checks it against.
 * It starts from the integrity record of the store (the chain value of the last applied
 * entry, durable with it) and runs over the WAL's entries after it, read back from disk at
 * open, so a restarted replica resumes its chain from what its files hold. Every entry the
 * replica appends afterwards extends it.
 *
 * Unknown (crcAt answers undefined) when the store has no chain value (written before the
 * chain existed, or a split's child): a follower then takes the leader's value, as Oxia's
 * followers seed an empty log with previous_entry_crc.
 */
export class LogChain {
  /** crcs[i] (i < count) is the chain value of entry base + i; count 0 while the chain is unknown. */
  private crcs = new Uint32Array(1024);
  private count = 0;
  private base: bigint;
  private head: bigint;

  private constructor(offset: bigint, crc: number | undefined) {
    this.base = offset;
    this.head = offset;
    if (crc !== undefined) this.push(crc);
  }

  private push(crc: number): void {
    if (this.count === this.crcs.length) {
      if (this.count < 2 * KEPT_MAX) {
        const grown = new Uint32Array(this.crcs.length * 2);
        grown.set(this.crcs);
        this.crcs = grown;
      } else {
        this.crcs.copyWithin(0, KEPT_MAX, this.count);
        this.count -= KEPT_MAX;
        this.base += BigInt(KEPT_MAX);
      }
    }
    this.crcs[this.count++] = crc;
  }

  /** A chain whose newest entry is `offset`, of value `crc` (undefined: unknown). */
  static at(offset: bigint, crc: number | undefined): LogChain {
    return new LogChain(offset, crc);
  }

  /** The chain of the log `wal` and `kv` hold: from the store's record through the WAL's later entries. */
  static async open(wal: Wal, kv: KvStore): Promise<LogChain> {
    const record = await readIntegrity(kv);
    let chain: LogChain;
    if (record) chain = new LogChain(record.offset, record.crc);
    else {
      const { commitOffset } = await readCommitState(kv);
      chain = new LogChain(commitOffset, commitOffset < 0n ? CHAIN_START_CRC : undefined);
    }
    const walHead = wal.lastEntryId().offset;
    if (walHead > chain.head) {
      const from = chain.head + 1n;
      if (wal.firstOffset() > from) {
        // The log does not reach back to the store's offset: nothing to chain from.
        chain.reset(walHead, undefined);
        return chain;
      }
      for await (const entry of wal.read(from)) {
        if (entry.offset > walHead) break;
        chain.append(entry);
      }
    }
    return chain;
  }

  /** The offset of the newest entry chained. */
  get headOffset(): bigint {
    return this.head;
  }

  /** The chain value of the entry at `offset`, or undefined when unknown or forgotten. */
  crcAt(offset: bigint): number | undefined {
    if (offset < this.base || offset > this.head || this.count === 0) return undefined;
    return this.crcs[Number(offset - this.base)];
  }

  /** Extends the chain with the next entry of the log. */
  append(entry: LogEntry): number | undefined {
    if (entry.offset !== this.head + 1n) {
      throw new Error(`bug: entry ${entry.offset} chained after entry ${this.head}`);
    }
    this.head = entry.offset;
    if (this.count === 0) {
      this.base = entry.offset;
      return undefined;
    }
    const crc = nextChainCrc(this.crcs[this.count - 1]!, entry);
    this.push(crc);
    return crc;
  }

  /** The leader's value for our head, when ours is unknown: the chain continues from it. */
  adopt(offset: bigint, crc: number): void {
    if (offset !== this.head || this.count > 0) throw new Error(`bug: adopting a chain value at ${offset}, head ${this.head}`);
    this.base = offset;
    this.push(crc);
  }

  /**
   * Makes the chain end at `head`, the log's head as an activity starting on it sees it: cut
   * back when proposals never reached the log (a leadership that ended), else, when the chain
   * cannot say (the log ends before the store's last entry), unknown. Whether it had to.
   */
  alignTo(head: bigint): boolean {
    if (this.head === head) return false;
    if (this.head > head) this.truncateAfter(head);
    if (this.head !== head || this.crcAt(head) === undefined) this.reset(head, undefined);
    return true;
  }

  /** The log was cut after `offset`. */
  truncateAfter(offset: bigint): void {
    if (offset >= this.head) return;
    this.head = offset;
    if (this.count === 0) return;
    if (offset < this.base) {
      this.count = 0;
      this.base = offset;
    } else this.count = Number(offset - this.base) + 1;
  }

  /** The log now continues after `offset`, whose chain value is `crc` (a snapshot, a cleared log). */
  reset(offset: bigint, crc: number | undefined): void {
    this.base = offset;
    this.head = offset;
    this.count = 0;
    if (crc !== undefined) this.push(crc);
  }
}
