/**
 * State digests kept at checkpoints, to compare replicas at one offset (ADR 0031). The digest
 * of a state (state-digest.ts) is known after every entry applied, but replicas apply at their
 * own pace: two of them can only be compared at an offset both have applied. So every replica
 * keeps its digest after each `interval`-th offset (0, interval, 2*interval, ...) for a few
 * checkpoints, and the leader sends its latest one to its followers.
 */
export const DEFAULT_DIGEST_CHECKPOINT_ENTRIES = 1024;

/** Checkpoints a replica keeps: a follower that applies far behind its leader compares at an older one. */
const CHECKPOINTS_KEPT = 8;

/** A replica's state digest after applying the entry at `offset`. */
export interface DigestCheckpoint {
  readonly offset: bigint;
  readonly digest: bigint;
}

export class DigestCheckpoints {
  private readonly kept: DigestCheckpoint[] = [];
  private readonly interval: bigint;

  /** `interval`: entries between checkpoints; 0 keeps none (comparisons off). */
  constructor(interval: number) {
    this.interval = BigInt(interval);
  }

  /** Whether the digest after `offset` is one to keep. */
  isCheckpoint(offset: bigint): boolean {
    return this.interval > 0n && offset >= 0n && offset % this.interval === 0n;
  }

  /** Hears the digest after each entry applied whole, in offset order; keeps the checkpoints. Returns whether it kept this one. */
  record(offset: bigint, digest: bigint): boolean {
    if (!this.isCheckpoint(offset)) return false;
    const last = this.kept[this.kept.length - 1];
    if (last !== undefined && last.offset >= offset) return false;
    this.kept.push({ offset, digest });
    if (this.kept.length > CHECKPOINTS_KEPT) this.kept.shift();
    return true;
  }

  /** The digest kept for `offset`, if any. */
  at(offset: bigint): bigint | undefined {
    for (const c of this.kept) if (c.offset === offset) return c.digest;
    return undefined;
  }

  get latest(): DigestCheckpoint | undefined {
    return this.kept[this.kept.length - 1];
  }
}
