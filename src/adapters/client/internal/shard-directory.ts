import type { HashRange } from '../../../domain/sharding/hash-range.js';
import { findByHash, rangeWithin } from '../../../domain/sharding/hash-range.js';
import { routingHash } from '../../../domain/sharding/hash.js';
import { ShardKeyRouter, type NamespaceShardsAssignment } from '../../../domain/wire/client.js';
import { RpcError } from './rpc-error.js';

/**
 * How many routing hashes the directory remembers, and the longest key it remembers one for.
 * The hash is a native call per key that costs about as much as the rest of routing a get;
 * applications route the same keys again and again, so a lookup usually replaces it. When the
 * memo is full it starts over (no eviction order to keep up on the hot path).
 */
const HASH_MEMO_ENTRIES = 16_384;
const HASH_MEMO_MAX_KEY_LENGTH = 256;

export interface ShardInfo {
  readonly id: bigint;
  /** "host:port" of the shard's leader. */
  readonly leader: string;
  readonly range: HashRange;
}

/**
 * The namespace's shards as the last assignment update described them: which shard owns
 * a routing hash, and who leads it. Updates replace the whole map (the server always sends
 * the full set for the namespace); listeners hear about every change.
 */
export class ShardDirectory {
  private shards: readonly ShardInfo[] = [];
  private byId = new Map<bigint, ShardInfo>();
  /** Leaders learnt from not-leader errors, trusted until the next assignment update. */
  private hintedLeaders = new Map<bigint, string>();
  private readonly listeners = new Set<(shards: readonly ShardInfo[]) => void>();
  private readonly hashes = new Map<string, number>();

  get size(): number {
    return this.shards.length;
  }

  update(assignment: NamespaceShardsAssignment): void {
    if (assignment.shardKeyRouter !== ShardKeyRouter.XXHASH3 && assignment.shardKeyRouter !== ShardKeyRouter.UNKNOWN) {
      throw new RpcError('Internal', `unsupported shard key router ${assignment.shardKeyRouter}`);
    }
    const next: ShardInfo[] = [];
    for (const a of assignment.assignments) {
      if (a.shardBoundaries?.$case !== 'int32HashRange') continue;
      const r = a.shardBoundaries.value;
      next.push({ id: a.shard, leader: a.leader, range: { min: r.minHashInclusive, max: r.maxHashInclusive } });
    }
    next.sort((x, y) => x.range.min - y.range.min);
    this.shards = next;
    this.byId = new Map(next.map((s) => [s.id, s]));
    this.hintedLeaders.clear();
    for (const l of this.listeners) l(next);
  }

  /** The shard owning `routingKey` (the partition key when given, else the record key). */
  shardFor(routingKey: string): ShardInfo {
    const s = findByHash(this.shards, this.hashOf(routingKey));
    if (s !== undefined) return s;
    throw new RpcError('ShardNotFound', `no shard owns the hash of key ${JSON.stringify(routingKey)} (${this.shards.length} shards known)`);
  }

  private hashOf(key: string): number {
    if (key.length > HASH_MEMO_MAX_KEY_LENGTH) return routingHash(key);
    let hash = this.hashes.get(key);
    if (hash === undefined) {
      hash = routingHash(key);
      if (this.hashes.size >= HASH_MEMO_ENTRIES) this.hashes.clear();
      this.hashes.set(key, hash);
    }
    return hash;
  }

  get(id: bigint): ShardInfo | undefined {
    return this.byId.get(id);
  }

  /** Where to send a shard's requests: the hinted leader if a server named one since the last update. */
  leaderOf(id: bigint): string | undefined {
    return this.hintedLeaders.get(id) ?? this.byId.get(id)?.leader;
  }

  /** Remembers the leader a not-leader error pointed to, so later requests go there directly. */
  noteLeaderHint(hint: { readonly shard: bigint; readonly leader: string }): void {
    if (this.byId.has(hint.shard) && hint.leader !== '') this.hintedLeaders.set(hint.shard, hint.leader);
  }

  /**
   * The shards now covering `range`, a range whose shard was split (ADR 0025): the shards
   * lying within it, which inherited its records and sessions (several levels of splits
   * included). Empty when the range is not (yet) covered by split children.
   */
  within(range: HashRange): readonly ShardInfo[] {
    return this.shards.filter((s) => rangeWithin(s.range, range));
  }

  all(): readonly ShardInfo[] {
    return this.shards;
  }

  onChange(listener: (shards: readonly ShardInfo[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
